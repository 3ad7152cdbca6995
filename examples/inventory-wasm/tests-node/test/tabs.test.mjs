// Several pages of one app on one storage key, in headless Chromium with real localStorage,
// against a real annals-server that another device keeps busy: random interleavings of
// executing, reloading, closing, going offline and online. At the end every command executed
// in any page is on the server exactly once (or shown as refused), and every page shows what
// the server has. It includes the cases that used to lose commands: a page closed 0-2000 ms
// after executing while another page syncs under load, and two pages executing bursts in the
// same millisecond with a reload 0-5 ms later.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { buildSite, eventually, installPackage, required, sleep, startServer, tempDir } from "../support.mjs";


const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tabs</title></head>
<body><script type="module" src="/main.js"></script></body></html>
`;

const MAIN = `import { open } from "annals-inventory";

const api = new URLSearchParams(location.search).get("api");
window.ready = open({ storage: "local", key: "annals/tabs", server: { url: api } }).then((replica) => {
  window.replica = replica;
});
window.add = (item) =>
  window.replica.execute({ type: "AddItem", data: { item, name: "Tea", unit: "kg" } }).id;
window.burst = (items) => items.map(window.add);
window.seen = () => ({
  pending: window.replica.pending().length,
  rejected: window.replica.rejected().map((r) => r.id),
  items: Object.keys(window.replica.view("stock")).sort(),
});
`;

// A small seeded generator, so a failure can be run again.
function random(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

let dir;
let site;
let server;
let browser;
let profile;

before(async () => {
  dir = await tempDir("tabs");
  await installPackage(dir);
  ({ site } = await buildSite(dir, { page: PAGE, main: MAIN }));
  server = await startServer({ corsOrigin: `http://127.0.0.1:${site.address().port}` });
  profile = await tempDir("chromium-tabs");
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: required("ANNALS_CHROMIUM"),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  site?.close();
  await rm(dir, { recursive: true, force: true });
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Another device: commands pushed straight to the server, about `rate` a second. It receives
 * stock of a few items of its own, so the log grows fast and the state stays small. */
function busyDevice(rate) {
  let running = true;
  const pushed = [];
  const push = async (commands) => {
    const response = await fetch(`${server.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ commands }),
    });
    assert.equal(response.status, 200);
    pushed.push(...commands.map((c) => c.id));
  };
  const items = Array.from({ length: 5 }, () => randomUUID());
  const done = (async () => {
    await push(items.map((item) => ({ id: randomUUID(), type: "AddItem", data: { item, name: "Rice", unit: "kg" } })));
    while (running) {
      const commands = Array.from({ length: Math.max(1, Math.round(rate / 20)) }, (_, n) => ({
        id: randomUUID(),
        type: "ReceiveStock",
        data: { item: items[n % items.length], site: "north", qty: 1 },
      }));
      await push(commands);
      await sleep(50);
    }
  })();
  return {
    pushed,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const url = () => `http://127.0.0.1:${site.address().port}/?api=${encodeURIComponent(server.url)}`;

async function openPage() {
  const page = await browser.newPage();
  page.on("pageerror", (error) => {
    throw error;
  });
  await page.goto(url());
  await page.evaluate(() => window.ready);
  return page;
}

async function reload(page) {
  await page.reload();
  await page.evaluate(() => window.ready);
}

async function setOffline(page, offline) {
  if (offline) await page.route(`${server.url}/**`, (route) => route.abort("internetdisconnected"));
  else await page.unroute(`${server.url}/**`);
}

async function serverCommands() {
  const counts = new Map();
  for (let after = 0; ; ) {
    const page = await server.get(`/v1/events?after=${after}&limit=1000`);
    for (const event of page.events) counts.set(event.meta.command, (counts.get(event.meta.command) ?? 0) + 1);
    if (page.events.length === 0) return { counts, head: page.head };
    after = page.events.at(-1).position;
  }
}

test("many pages on one key: no command lost or doubled, and every page converges", { timeout: 600_000 }, async () => {
  const seed = Number(process.env.ANNALS_SEED ?? Date.now() % 1_000_000);
  const next = random(seed);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const executed = [];
  const device = busyDevice(130);
  const pages = [await openPage(), await openPage()];
  const offline = new Set();
  try {
    // A page that executes and closes 0-2000 ms later while another syncs under load.
    for (let round = 0; round < 12; round += 1) {
      const page = await openPage();
      executed.push(await page.evaluate((item) => window.add(item), randomUUID()));
      await sleep(Math.floor(next() * 2000));
      await page.close();
    }
    // Two pages, offline, each execute a burst in the same moment; one reloads 0-5 ms later.
    for (let round = 0; round < 6; round += 1) {
      const [a, b] = pages;
      await setOffline(a, true);
      await setOffline(b, true);
      const size = 20;
      const ids = await Promise.all(
        [a, b].map((page) => page.evaluate((items) => window.burst(items), Array.from({ length: size }, () => randomUUID()))),
      );
      executed.push(...ids.flat());
      await sleep(Math.floor(next() * 6));
      await reload(a);
      await setOffline(a, false);
      await setOffline(b, false);
    }
    // Random interleavings of the rest.
    for (let step = 0; step < 60; step += 1) {
      const roll = next();
      if (roll < 0.45 && pages.length > 0) {
        const page = pick(pages);
        executed.push(await page.evaluate((item) => window.add(item), randomUUID()));
      } else if (roll < 0.6 && pages.length > 0) {
        await reload(pick(pages));
      } else if (roll < 0.7 && pages.length > 1) {
        const page = pages.splice(Math.floor(next() * pages.length), 1)[0];
        offline.delete(page);
        await page.close();
      } else if (roll < 0.8 && pages.length < 4) {
        pages.push(await openPage());
      } else if (pages.length > 0) {
        const page = pick(pages);
        const goOffline = !offline.has(page);
        await setOffline(page, goOffline);
        if (goOffline) offline.add(page);
        else offline.delete(page);
      }
      await sleep(Math.floor(next() * 50));
    }
    for (const page of offline) await setOffline(page, false);
  } finally {
    await device.stop();
  }

  // Everything comes online; a fresh page joins too.
  pages.push(await openPage());
  const { counts } = await eventually(async () => {
    const found = await serverCommands();
    const missing = executed.filter((id) => !found.counts.has(id));
    return missing.length === 0 ? found : null;
  }, 60_000).catch(async (error) => {
    const found = await serverCommands();
    const missing = executed.filter((id) => !found.counts.has(id));
    const rejected = new Set((await pages[0].evaluate(() => window.seen())).rejected);
    const lost = missing.filter((id) => !rejected.has(id));
    assert.deepEqual(lost, [], `seed ${seed}: ${lost.length} of ${executed.length} commands never reached the server`);
    throw error;
  });
  const doubled = executed.filter((id) => counts.get(id) !== 1);
  assert.deepEqual(doubled, [], `seed ${seed}: commands recorded more than once`);
  for (const id of device.pushed) assert.equal(counts.get(id), 1);

  // Every page converges on the server's items.
  const expected = [];
  for (let after = ""; ; ) {
    const page = await server.get(`/v1/views/stock?limit=1000${after && `&after=${after}`}`);
    expected.push(...Object.keys(page.value));
    if (!page.next) break;
    after = page.next;
  }
  expected.sort();
  for (const page of pages) {
    await page.waitForFunction(
      (count) => window.seen().pending === 0 && window.seen().items.length === count,
      expected.length,
      { timeout: 60_000 },
    );
    assert.deepEqual((await page.evaluate(() => window.seen())).items, expected, `seed ${seed}`);
  }
  assert.ok(executed.length >= 12 + 6 * 40, `${executed.length} commands executed`);
});
