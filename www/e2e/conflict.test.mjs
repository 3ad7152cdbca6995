// Two devices, both offline, each use the last units of one item. When they come back, the
// server accepts the first and refuses the second with its reason, which the second device
// shows in its panel of refused commands; both screens end up showing the same stock.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addItem,
  offline,
  openApp,
  pendingCount,
  record,
  screenshot,
  selectItem,
  sleep,
  serverAndBrowser,
  synced,
  totalOf,
  waitForTotal,
} from "./support.mjs";

const env = serverAndBrowser();

test("the same last units used on two offline devices: one accepted, one refused with its reason", { timeout: 120_000 }, async () => {
  const { server, browser } = env;
  const viewport = { width: 1280, height: 900 };
  const [kitchen, counter] = [await browser.newContext({ viewport }), await browser.newContext({ viewport })];
  const a = await openApp(kitchen, server.url);
  const milk = await addItem(a, { name: "Milk", unit: "L", reorder: 2 });
  await record(a, "receive", "hilltop", 4);
  await waitForTotal(a, milk, 4);
  await synced(a);

  const b = await openApp(counter, server.url);
  await waitForTotal(b, milk, 4);
  await synced(b);

  await kitchen.setOffline(true);
  await counter.setOffline(true);
  await offline(a);
  await offline(b);
  for (const page of [a, b]) {
    await selectItem(page, "Milk");
    await record(page, "consume", "hilltop", 4);
    await waitForTotal(page, milk, 0);
    assert.equal(await pendingCount(page), 1);
  }

  await kitchen.setOffline(false);
  await synced(a);
  // The counter hears nothing while offline: its use of the milk still waits, unrefused.
  await sleep(1000);
  assert.equal(await pendingCount(b), 1);
  assert.equal(await b.locator("[data-testid=rejected-item]").count(), 0);
  await counter.setOffline(false);
  const refused = b.locator("[data-testid=rejected-item]");
  await refused.waitFor();
  assert.equal(await refused.count(), 1);
  assert.equal(await refused.getAttribute("data-code"), "insufficient_stock");
  assert.equal(await refused.getByTestId("rejected-code").textContent(), "insufficient_stock");
  const message = await refused.getByTestId("rejected-message").textContent();
  assert.match(message, /Milk/);
  assert.match(message, /hilltop/);
  assert.match(await refused.textContent(), /Use 4 L of Milk at hilltop/);
  await synced(b);
  await screenshot(b, "conflict-refused");

  // Both screens converge on the server's answer.
  await waitForTotal(b, milk, 0);
  assert.equal(await totalOf(a, milk), 0);
  assert.equal(await totalOf(b, milk), 0);
  assert.equal(await a.locator("[data-testid=rejected-item]").count(), 0);
  const consumed = (await server.events()).filter((e) => e.type === "StockConsumed");
  assert.equal(consumed.length, 1, "only one use of the last units reached the log");
  assert.equal((await server.get(`/v1/views/stock/${milk}`)).value.total, 0);

  // Dismissed, the refusal leaves the panel (and stays gone after a reload).
  await refused.getByTestId("dismiss").click();
  await b.waitForSelector('[data-testid=rejected-panel][data-count="0"]');
  await b.reload();
  await b.waitForSelector("body[data-ready=true]");
  assert.equal(await b.locator("[data-testid=rejected-item]").count(), 0);

  assert.deepEqual([...a.errors, ...b.errors], []);
  await kitchen.close();
  await counter.close();
});
