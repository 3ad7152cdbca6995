// Offline: once loaded, the app works with no network at all. Commands typed offline survive
// a reload (the service worker serves the app, localStorage keeps the work), and when the
// network returns they reach the server exactly once. Also checks the manifest and what the
// service worker precached.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addItem,
  offline,
  openApp,
  pendingCount,
  ready,
  record,
  screenshot,
  serviceWorkerInControl,
  serverAndBrowser,
  synced,
  totalOf,
  waitForTotal,
} from "./support.mjs";

const env = serverAndBrowser();

test("work done offline survives a reload and syncs exactly once", { timeout: 120_000 }, async () => {
  const { server, browser } = env;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openApp(context, server.url);
  await serviceWorkerInControl(page);
  await synced(page);
  const manifest = await page.getAttribute('link[rel="manifest"]', "href");
  assert.ok(manifest, "the page links its web app manifest");
  const app = await server.get(`/${manifest.replace(/^\//, "")}`);
  assert.equal(app.name, "Cafeteria stock");
  assert.equal(app.display, "standalone");
  const cached = await page.evaluate(async () =>
    (await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).keys())))
      .flat()
      .map((request) => new URL(request.url).pathname),
  );
  assert.ok(cached.includes("/index.html"), "the shell is precached");
  assert.ok(cached.some((path) => path.endsWith(".wasm")), "the package's .wasm is precached");

  await context.setOffline(true);
  await offline(page);
  const item = await addItem(page, { name: "Rice", unit: "kg", reorder: 5 });
  await record(page, "receive", "crossroads", 10);
  await waitForTotal(page, item, 10);
  await record(page, "consume", "crossroads", 3);
  await waitForTotal(page, item, 7);
  assert.equal(await pendingCount(page), 3);
  await page.getByTestId("sync-now").click();
  await page.getByTestId("notice").waitFor();
  assert.equal(await page.getAttribute("[data-testid=notice]", "data-code"), "offline");
  await screenshot(page, "offline-pending");

  assert.deepEqual(await server.events(), [], "nothing reached the server while offline");

  // Still offline, reload: the page comes from the service worker's cache, the work from
  // localStorage. The server is taken away too, so the reload cannot reach it whatever the
  // emulation does (Chromium's offline mode has let a reloaded document's first requests out).
  await server.down();
  const response = await page.reload();
  assert.ok(response?.fromServiceWorker(), "the reload was answered by the service worker");
  await ready(page);
  await offline(page);
  assert.equal(await totalOf(page, item), 7);
  assert.equal(await pendingCount(page), 3);
  assert.equal(await page.locator("[data-testid=activity-entry][data-pending=true]").count(), 3);

  await server.up();
  await context.setOffline(false);
  await synced(page);
  assert.equal(await totalOf(page, item), 7);
  assert.equal(await page.locator("[data-testid=activity-entry][data-pending=true]").count(), 0);

  // A second round (and a reload) must not send anything again.
  await page.getByTestId("sync-now").click();
  await page.reload();
  await ready(page);
  await synced(page);

  const events = await server.events();
  assert.deepEqual(
    events.map((e) => e.type),
    ["ItemAdded", "StockReceived", "StockConsumed"],
  );
  const commands = events.map((e) => e.meta.command);
  assert.equal(new Set(commands).size, 3, "each command is in the log exactly once");
  const stock = await server.get(`/v1/views/stock/${item}`);
  assert.equal(stock.value.total, 7);
  assert.deepEqual(stock.value.sites, { crossroads: 7 });
  assert.deepEqual(page.errors, []);
  await context.close();
});
