// The interface's own controls: undo and redo (buttons and keys), the stock-over-time chart
// drawn from the `history` view, the item's state at an earlier version, renaming, retiring,
// and forms used from the keyboard alone. Saves screenshots of the main screens.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addItem,
  openApp,
  record,
  screenshot,
  selectItem,
  serverAndBrowser,
  synced,
  totalOf,
  waitForTotal,
} from "./support.mjs";

const env = serverAndBrowser();

const focused = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-testid"));
const values = (page, site) => page.getAttribute(`[data-testid=chart-line][data-site="${site}"]`, "data-values");

test("undo, redo, the chart, time travel, renaming and retiring, from the interface", { timeout: 120_000 }, async () => {
  const { server, browser } = env;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openApp(context, server.url);
  await synced(page);

  // Adding an item with the keyboard alone: labels, focus order, Enter submits.
  await page.getByTestId("add-name").focus();
  await page.keyboard.type("Apples");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "add-unit");
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type("pcs");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "add-reorder");
  await page.keyboard.press("ControlOrMeta+A");
  // Low enough that no change below crosses it: the server's reorder reaction stays out.
  await page.keyboard.type("5");
  await page.keyboard.press("Enter");
  const apples = await page.locator("[data-testid=item-row]", { hasText: "Apples" }).getAttribute("data-item");
  assert.equal(await focused(page), "add-name", "the name field is ready for the next item");

  await selectItem(page, "Apples");
  await record(page, "receive", "crossroads", 20);
  await waitForTotal(page, apples, 20);
  await record(page, "receive", "hilltop", 8);
  await waitForTotal(page, apples, 28);
  await record(page, "consume", "crossroads", 5);
  await waitForTotal(page, apples, 23);
  await record(page, "count", "hilltop", 12);
  await waitForTotal(page, apples, 27);
  await synced(page);

  // The chart follows the log: one step per change, a line per site and one for the total.
  const chart = page.getByTestId("stock-chart");
  assert.equal(await chart.getAttribute("data-steps"), "4");
  assert.equal(await values(page, "crossroads"), "20,20,15,15");
  assert.equal(await values(page, "hilltop"), ",8,8,12");
  assert.equal(await page.getAttribute("[data-testid=chart-total]", "data-values"), "20,28,23,27");

  // Undo compensates (new events, history kept); redo runs the command again.
  await page.getByTestId("undo").click();
  await waitForTotal(page, apples, 23);
  assert.equal(await chart.getAttribute("data-steps"), "5");
  assert.equal(await values(page, "hilltop"), ",8,8,12,8");
  await page.getByTestId("redo").click();
  await waitForTotal(page, apples, 27);
  assert.equal(await page.getByTestId("redo").isDisabled(), true);
  await page.locator("h1").click();
  await page.keyboard.press("ControlOrMeta+Z");
  await waitForTotal(page, apples, 23);
  await page.keyboard.press("ControlOrMeta+Shift+Z");
  await waitForTotal(page, apples, 27);

  // A refusal by the rules shows at once, next to the form, and changes nothing.
  await record(page, "consume", "hilltop", 500);
  const error = page.getByTestId("stock-error");
  await error.waitFor();
  assert.equal(await error.getAttribute("data-code"), "insufficient_stock");
  assert.match(await error.textContent(), /Only 12 pcs of Apples left at hilltop/);
  assert.equal(await totalOf(page, apples), 27);

  // Back in time: the item's state at an earlier version, chosen with the keyboard.
  const slider = page.getByTestId("version-slider");
  assert.equal(await slider.getAttribute("max"), "9");
  await slider.focus();
  await page.keyboard.press("Home");
  await page.waitForSelector('[data-testid=state-at][data-version="1"]');
  assert.equal(await page.getByTestId("state-at-total").textContent(), "0 pcs");
  await page.keyboard.press("ArrowRight");
  await page.waitForSelector('[data-testid=state-at][data-version="2"]');
  assert.equal(await page.getByTestId("state-at-total").textContent(), "20 pcs");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.waitForSelector('[data-testid=state-at][data-version="4"]');
  assert.equal(await page.getByTestId("state-at-sites").textContent(), "crossroads 15 pcs · hilltop 8 pcs");
  assert.match(await page.getByTestId("state-at").textContent(), /After: Used 5 pcs of Apples at crossroads/);

  // Renaming, seen in time travel; and undone.
  await page.getByTestId("rename-name").fill("Green apples");
  await page.getByTestId("rename-name").press("Enter");
  await page.getByTestId("items-table").getByRole("button", { name: "Green apples", exact: true }).waitFor();
  assert.equal(await page.getByTestId("state-at-name").textContent(), "Apples", "version 4 stays chosen");
  await slider.focus();
  await page.keyboard.press("End");
  await page.waitForSelector('[data-testid=state-at][data-version="10"]');
  assert.equal(await page.getByTestId("state-at-name").textContent(), "Green apples");
  await page.getByTestId("undo").click();
  await page.getByTestId("items-table").getByRole("button", { name: "Apples", exact: true }).waitFor();

  // More of the cafeteria, for the screenshots: stock at several sites, a low item, one retired.
  const rice = await addItem(page, { name: "Rice", unit: "kg", reorder: 3 });
  await selectItem(page, "Rice");
  await record(page, "receive", "crossroads", 25);
  await record(page, "receive", "riverside", 10);
  await record(page, "consume", "crossroads", 12);
  await record(page, "consume", "riverside", 6);
  await record(page, "receive", "crossroads", 5);
  await record(page, "count", "riverside", 3);
  await waitForTotal(page, rice, 21);
  const milk = await addItem(page, { name: "Milk", unit: "L", reorder: 12 });
  await selectItem(page, "Milk");
  await record(page, "receive", "hilltop", 9);
  await waitForTotal(page, milk, 9);
  const bread = await addItem(page, { name: "Bread rolls", unit: "pcs", reorder: 30 });
  await selectItem(page, "Bread rolls");
  await record(page, "receive", "crossroads", 40);
  await record(page, "receive", "riverside", 24);
  await waitForTotal(page, bread, 64);
  await addItem(page, { name: "Juice boxes", unit: "boxes", reorder: 0 });
  await selectItem(page, "Juice boxes");
  await page.getByTestId("retire").click();
  assert.equal(await focused(page), "retire-cancel", "the safe choice has the focus");
  await page.getByTestId("retire-confirm").click();
  await page.getByTestId("items-table").getByRole("button", { name: "Juice boxes" }).waitFor({ state: "detached" });
  await page.getByLabel("Show retired").check();
  await page.getByTestId("items-table").getByRole("button", { name: "Juice boxes" }).waitFor();
  await page.getByLabel("Show retired").uncheck();

  const low = page.getByTestId("low-stock").getByTestId("low-stock-item");
  assert.deepEqual(await low.allTextContents(), ["Milk9 L left · reorder below 12"]);

  await selectItem(page, "Rice");
  await synced(page);
  await screenshot(page, "main");
  await screenshot(page.getByTestId("item-panel"), "item-panel");
  await page.getByTestId("version-slider").focus();
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.waitForSelector('[data-testid=state-at][data-version="3"]');
  assert.equal(await page.getByTestId("state-at-total").textContent(), "35 kg");
  assert.equal(await page.getByTestId("chart-marker").count(), 1, "the chart marks the version shown");
  await page.getByTestId("state-at").scrollIntoViewIfNeeded();
  await screenshot(page, "time-travel", { fullPage: false });

  // The feed shows the latest events first, and older ones on request.
  const entries = page.getByTestId("activity-entry");
  assert.equal(await entries.count(), 10);
  assert.match(await entries.first().textContent(), /Retired Juice boxes/);
  await page.getByTestId("activity-more").click();
  assert.equal(await entries.count(), 25);
  assert.equal(await page.getByTestId("activity-more").isHidden(), true);

  // Using stock below an item's reorder level: the server's reaction asks for more, and the
  // request shows once synced, until the site is refilled.
  const requests = page.getByTestId("reorders").getByTestId("reorder-request");
  assert.equal(await requests.count(), 0);
  await selectItem(page, "Bread rolls");
  await record(page, "consume", "crossroads", 15);
  await requests.first().waitFor();
  assert.deepEqual(await requests.allTextContents(), ["Bread rolls at crossroads25 pcs held · reorder below 30"]);
  await screenshot(page.getByTestId("reorders"), "reorder-requests");
  await record(page, "receive", "crossroads", 10);
  await requests.first().waitFor({ state: "detached" });

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const small = await openApp(phone, server.url);
  await synced(small);
  await screenshot(small, "mobile");
  await phone.close();

  assert.deepEqual(page.errors, []);
  await context.close();
});
