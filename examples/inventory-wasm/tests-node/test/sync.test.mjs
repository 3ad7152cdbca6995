// The packed package in Node against a real annals-server (SQLite in a temporary folder):
// push, pull and rebase; two replicas that conflict offline; live sync over Server-Sent Events.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";

import { eventually, freePort, installPackage, startServer, tempDir } from "../support.mjs";

let annals;
let dir;
let server;

before(async () => {
  dir = await tempDir("sync");
  annals = await installPackage(dir);
  server = await startServer();
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const offline = () => annals.open({ server: { url: server.url, live: false } });

describe("sync with annals-server", () => {
  test("pending commands are pushed, recorded and confirmed", async () => {
    const replica = await offline();
    const item = randomUUID();
    const added = replica.execute({ type: "AddItem", data: { item, name: "Flour", unit: "kg" } });
    replica.execute({ type: "ReceiveStock", data: { item, site: "north", qty: 7 } });
    const changes = [];
    replica.subscribe((change) => changes.push(change.source));
    await replica.sync();
    assert.equal(replica.pending().length, 0);
    assert.equal(replica.status(added.id), "accepted");
    assert.ok(replica.position >= 2);
    assert.ok(changes.includes("remote"));
    const { value } = await server.get(`/v1/views/stock/${item}`);
    assert.deepEqual(value, replica.view("stock", item));
    assert.equal(replica.syncState().online, true);

    // A second sync pushes nothing again: the log holds each event once.
    await replica.sync();
    const { events } = await server.get("/v1/events?after=0&limit=10000");
    assert.equal(events.filter((e) => e.meta.command === added.id).length, 1);
    replica.close();
  });

  test("two replicas conflict offline: the stale command is rejected, the rest go through", async () => {
    const a = await offline();
    const b = await offline();
    const rice = randomUUID();
    a.execute({ type: "AddItem", data: { item: rice, name: "Rice", unit: "kg" } });
    a.execute({ type: "ReceiveStock", data: { item: rice, site: "crossroads", qty: 3 } });
    await a.sync();
    await b.sync();
    assert.equal(b.view("stock", rice).total, 3);

    // Offline, both use the last three units.
    const first = a.execute({ type: "ConsumeStock", data: { item: rice, site: "crossroads", qty: 3 } });
    const stale = b.execute({ type: "ConsumeStock", data: { item: rice, site: "crossroads", qty: 3 } });
    const later = b.execute({ type: "ReceiveStock", data: { item: rice, site: "crossroads", qty: 10 } });
    const last = b.execute({ type: "ConsumeStock", data: { item: rice, site: "crossroads", qty: 2 } });
    assert.equal(b.view("stock", rice).total, 8, "b's optimistic view");

    await a.sync();
    await b.sync();
    assert.equal(a.status(first.id), "accepted");
    assert.equal(b.status(stale.id), "rejected");
    assert.equal(b.status(later.id), "accepted", "no head-of-line blocking");
    assert.equal(b.status(last.id), "accepted");
    const [rejected] = b.rejected();
    assert.equal(rejected.id, stale.id);
    assert.equal(rejected.code, "insufficient_stock");
    assert.match(rejected.message, /Only 0 kg of Rice left at crossroads; cannot use 3\./);
    assert.equal(rejected.command.type, "ConsumeStock");
    assert.equal(b.pending().length, 0);

    await a.sync();
    const { value } = await server.get("/v1/views/stock");
    assert.deepEqual(a.view("stock"), value);
    assert.deepEqual(b.view("stock"), value);
    assert.equal(value[rice].total, 8);
    assert.equal(a.position, b.position);
    assert.deepEqual(a.stream(`item-${rice}`), b.stream(`item-${rice}`));

    assert.ok(b.dismiss(stale.id));
    assert.deepEqual(b.rejected(), []);
    a.close();
    b.close();
  });

  test("live replicas follow each other through the server", async () => {
    const a = await annals.open({ server: { url: server.url } });
    const b = await annals.open({ server: { url: server.url } });
    const item = randomUUID();
    const seen = [];
    b.subscribe((change) => seen.push(change));
    const added = a.execute({ type: "AddItem", data: { item, name: "Beans", unit: "tin" } });
    await eventually(() => b.view("stock", item));
    assert.equal(b.view("stock", item).name, "Beans");
    await eventually(() => a.status(added.id) === "accepted");
    assert.ok(seen.some((change) => change.source === "remote"));
    assert.equal(b.syncState().live, true);
    a.close();
    b.close();
  });

  test("while the server is unreachable commands wait, and go through once it is back", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const replica = await annals.open({ server: { url } });
    const item = randomUUID();
    const added = replica.execute({ type: "AddItem", data: { item, name: "Salt" } });
    await assert.rejects(replica.sync(), { name: "AnnalsError", code: "offline" });
    assert.equal(replica.syncState().online, false);
    assert.equal(replica.status(added.id), "pending");

    const late = await startServer({ port });
    try {
      await eventually(() => replica.status(added.id) === "accepted", 20_000);
      assert.equal(replica.syncState().online, true);
      const { value } = await late.get(`/v1/views/stock/${item}`);
      assert.equal(value.name, "Salt");
    } finally {
      replica.close();
      await late.stop();
    }
  });
});
