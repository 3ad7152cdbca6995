// Reactive reads and per-command promises, as front-end code uses them: a watch hands back the
// same object while nothing changed and calls back only on a change; `settled` resolves when
// the server accepts a command and rejects with the rule's code when it refuses it.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";

import { installPackage, startServer, tempDir } from "../support.mjs";

let annals;
let dir;
let server;

before(async () => {
  dir = await tempDir("reactive");
  annals = await installPackage(dir);
  server = await startServer();
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const add = (item, name) => ({ type: "AddItem", data: { item, name, unit: "kg" } });
const receive = (item, qty) => ({ type: "ReceiveStock", data: { item, site: "north", qty } });
const consume = (item, qty) => ({ type: "ConsumeStock", data: { item, site: "north", qty } });

describe("watch", () => {
  test("a row's watch: the same object until that row changes, called back only then", async () => {
    const replica = await annals.open({});
    const rice = randomUUID();
    const oats = randomUUID();
    const watch = replica.watch("stock", rice);
    assert.equal(watch.get(), null);
    const seen = [];
    const stop = watch.subscribe((row) => seen.push(row));

    replica.execute(add(rice, "Rice"));
    const first = watch.get();
    assert.equal(first.name, "Rice");
    assert.equal(watch.get(), first, "unchanged: the very same object");
    assert.deepEqual(seen, [first]);

    // Another row changes: this watch neither calls back nor hands back a new object.
    replica.execute(add(oats, "Oats"));
    replica.execute(receive(oats, 3));
    assert.equal(watch.get(), first);
    assert.equal(seen.length, 1);

    replica.execute(receive(rice, 5));
    assert.equal(watch.get().total, 5);
    assert.notEqual(watch.get(), first);
    assert.equal(seen.length, 2);
    assert.equal(seen[1], watch.get());

    stop();
    replica.execute(receive(rice, 1));
    assert.equal(seen.length, 2, "no call after stop");
    assert.equal(watch.get().total, 6, "get() still reads the current value");
    replica.close();
  });

  test("a whole view's watch, as useSyncExternalStore calls it", async () => {
    const replica = await annals.open({});
    const view = replica.watch("stock");
    // useSyncExternalStore takes the functions alone, unbound.
    const { subscribe, get } = view;
    const snapshots = [get()];
    let renders = 0;
    const stop = subscribe(() => {
      renders += 1;
      snapshots.push(get());
    });
    assert.deepEqual(snapshots[0], {});
    const item = randomUUID();
    replica.execute(add(item, "Rice"));
    assert.equal(renders, 1);
    assert.equal(get(), snapshots[1]);
    assert.equal(Object.keys(get()).length, 1);
    // A refused command changes nothing, so nothing renders.
    assert.throws(() => replica.execute(consume(item, 1)), { code: "insufficient_stock" });
    assert.equal(renders, 1);
    stop();
    replica.close();
  });

  test("an unknown view is refused at once", async () => {
    const replica = await annals.open({});
    assert.throws(() => replica.watch("nope"), { name: "AnnalsError", code: "unknown_view" });
    const watch = replica.watch("stock");
    replica.close();
    assert.throws(() => watch.get(), { code: "closed" });
  });
});

describe("settled", () => {
  test("resolves when the server accepts, rejects with the rule's code when it refuses", async () => {
    const a = await annals.open({ server: { url: server.url, live: false } });
    const b = await annals.open({ server: { url: server.url, live: false } });
    const rice = randomUUID();
    const added = a.execute(add(rice, "Rice"));
    a.execute(receive(rice, 3));
    const settled = added.settled;
    await a.sync();
    assert.deepEqual(await settled, { id: added.id, status: "accepted" });
    // Asked again after the fact, it resolves at once.
    assert.deepEqual(await a.settled(added.id), { id: added.id, status: "accepted" });

    await b.sync();
    const mine = a.execute(consume(rice, 2));
    const theirs = b.execute(consume(rice, 2));
    // Handlers are attached before the syncs, as a caller awaiting both would.
    const accepted = mine.settled;
    const refused = assert.rejects(theirs.settled, (error) => {
      assert.ok(annals.isAnnalsError(error));
      assert.equal(error.code, "insufficient_stock");
      assert.match(error.message, /Only 1 kg of Rice left/);
      return true;
    });
    await a.sync();
    await b.sync();
    assert.equal((await accepted).status, "accepted");
    await refused;
    a.close();
    b.close();
  });

  test("a replica closed first rejects with closed; an unknown id is refused", async () => {
    const replica = await annals.open({});
    const { id } = replica.execute(add(randomUUID(), "Salt"));
    const waiting = replica.settled(id);
    await assert.rejects(replica.settled(randomUUID()), { code: "unknown_command" });
    replica.close();
    await assert.rejects(waiting, { name: "AnnalsError", code: "closed" });
  });

  test("an outcome whose settled is never read leaves no promise behind", async () => {
    const unhandled = [];
    const note = (reason) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    try {
      const a = await annals.open({ server: { url: server.url, live: false } });
      const b = await annals.open({ server: { url: server.url, live: false } });
      const item = randomUUID();
      a.execute(add(item, "Tea"));
      // Refused by the server (the item exists by then), and nothing awaits it.
      const lost = b.execute(add(item, "Tea again"));
      await a.sync();
      await b.sync();
      assert.equal(b.status(lost.id), "rejected");
      a.close();
      b.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", note);
    }
  });
});
