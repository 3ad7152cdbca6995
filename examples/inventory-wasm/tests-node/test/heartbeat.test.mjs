// The live connection's watchdog: annals-server sends a comment on an idle subscription every
// heartbeat; a connection that stays silent for two missed heartbeats is dropped and opened
// again after the last position the replica holds. Against a small fake server (node:http)
// that sends an event and then goes silent without closing, and against a real annals-server
// behind a proxy that records each subscription.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import { after, before, describe, test } from "node:test";

import { eventually, installPackage, sleep, startServer, tempDir } from "../support.mjs";

let annals;
let dir;

before(async () => {
  dir = await tempDir("heartbeat");
  annals = await installPackage(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listen(server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function shut(server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** An inventory event at `position`, as the server sends it. */
function envelope(position, item, name) {
  return {
    id: randomUUID(),
    stream: `item-${item}`,
    version: 1,
    position,
    type: "ItemAdded",
    schema: 2,
    data: { name, unit: "kg", reorder_level: 0 },
    meta: { command: randomUUID(), actor: "fake", at: Date.now() },
  };
}

/**
 * A fake annals-server: `GET /v1/events` pages the log, and `GET /v1/subscribe` records the
 * subscription and hands it to `subscribed(subscription, send)`, which writes to it and never
 * ends it. `send(envelope)` appends to the log and writes the event with CR line endings, its
 * JSON spread over several `data:` lines.
 */
async function fakeServer(subscribed) {
  const log = [];
  const subscriptions = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://fake");
    if (url.pathname === "/v1/events") {
      const from = Number(url.searchParams.get("after"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ events: log.slice(from), head: log.length }));
    } else if (url.pathname === "/v1/subscribe") {
      const subscription = {
        after: Number(url.searchParams.get("after")),
        closed: false,
        sent: [],
        timers: [],
      };
      subscriptions.push(subscription);
      res.on("close", () => {
        subscription.closed = true;
        subscription.timers.forEach(clearInterval);
      });
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      const send = (event) => {
        log.push(event);
        subscription.sent.push(event.position);
        const data = JSON.stringify(event, null, 1).split("\n").map((line) => `data: ${line}\r`);
        res.write(`id: ${event.position}\r${data.join("")}\r`);
      };
      const heartbeat = (ms) => subscription.timers.push(setInterval(() => res.write(":\r\r"), ms));
      subscribed(subscription, { send, heartbeat, log });
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":{"code":"not_found","message":"Not here."}}');
    }
  });
  return { url: await listen(server), subscriptions, log, close: () => shut(server) };
}

describe("the live connection's heartbeat watchdog", () => {
  test("a connection silent for two missed heartbeats is dropped and resumed after the last id seen", async () => {
    const first = randomUUID();
    const second = randomUUID();
    const fake = await fakeServer((subscription, { send, heartbeat, log }) => {
      if (log.length === 0) {
        // An event, then silence without closing.
        send(envelope(1, first, "Oats"));
      } else {
        send(envelope(log.length + 1, second, "Rye"));
        heartbeat(50);
      }
    });
    const replica = await annals.open({
      server: { url: fake.url, heartbeat: 200 },
    });
    try {
      await eventually(() => fake.subscriptions.length >= 2);
      const [dropped, resumed] = fake.subscriptions;
      assert.equal(dropped.after, 0);
      assert.deepEqual(dropped.sent, [1]);
      await eventually(() => dropped.closed);
      assert.equal(resumed.after, 1, "resumed after the last id the silent connection sent");
      assert.equal(replica.view("stock", first)?.name, "Oats");
      await eventually(() => replica.position === 2);
      assert.equal(replica.view("stock", second)?.name, "Rye");

      // Heartbeats keep the resumed connection open: well past the silence allowed, it is
      // still the last one.
      await sleep(1500);
      assert.equal(fake.subscriptions.length, 2);
      assert.equal(resumed.closed, false);
      assert.equal(replica.syncState().online, true);
    } finally {
      replica.close();
      await fake.close();
    }
  });

  test("an event ended by a lone CR is applied at once, and the default heartbeat waits", async () => {
    const item = randomUUID();
    const fake = await fakeServer((subscription, { send }) => send(envelope(1, item, "Barley")));
    const replica = await annals.open({ server: { url: fake.url } });
    try {
      await eventually(() => replica.view("stock", item));
      assert.equal(replica.position, 1);
      await sleep(500);
      assert.equal(fake.subscriptions.length, 1);
      assert.equal(fake.subscriptions[0].closed, false);
      replica.close();
      await eventually(() => fake.subscriptions[0].closed);
    } finally {
      replica.close();
      await fake.close();
    }
  });

  test("a heartbeat that is not a positive number of milliseconds is refused", async () => {
    for (const heartbeat of [0, -1, Infinity, Number.NaN, "15000"]) {
      await assert.rejects(
        annals.open({ server: { url: "http://127.0.0.1:9", heartbeat } }),
        { name: "AnnalsError", code: "invalid_option" },
        String(heartbeat),
      );
    }
  });

  test("against annals-server: reconnecting on silence misses no event", async () => {
    const server = await startServer();
    const upstream = new URL(server.url);
    const subscribed = [];
    // Forwards every request to the server, noting where each subscription starts.
    const proxy = createServer((req, res) => {
      const url = new URL(req.url, server.url);
      if (url.pathname === "/v1/subscribe") subscribed.push(Number(url.searchParams.get("after")));
      const forward = request(url, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      forward.on("error", () => res.destroy());
      res.on("close", () => forward.destroy());
      req.pipe(forward);
    });
    const proxied = await listen(proxy);
    // The server's heartbeat is 15 s: a client told to expect one every 200 ms drops a
    // connection quiet for 500 ms, so it reconnects again and again between the writes.
    const live = await annals.open({ server: { url: proxied, heartbeat: 200 } });
    const writer = await annals.open({ server: { url: server.url, live: false } });
    try {
      const item = randomUUID();
      writer.execute({ type: "AddItem", data: { item, name: "Millet", unit: "kg" } });
      await writer.sync();
      for (const qty of [1, 2, 3, 4]) {
        await sleep(800);
        writer.execute({ type: "ReceiveStock", data: { item, site: "north", qty } });
        await writer.sync();
      }
      await eventually(() => live.view("stock", item)?.total === 10);
      await eventually(() => subscribed.length >= 3);
      assert.equal(live.position, writer.position);
      assert.deepEqual(live.stream(`item-${item}`), writer.stream(`item-${item}`));
      const later = subscribed.slice(1);
      assert.ok(later.every((position, i) => position >= subscribed[i]), `${subscribed}`);
      assert.ok(later.at(-1) > 0, `${subscribed}`);
      assert.ok(later.at(-1) <= live.position, `${subscribed}`);
    } finally {
      live.close();
      writer.close();
      await shut(proxy);
      await server.stop();
    }
  });
});
