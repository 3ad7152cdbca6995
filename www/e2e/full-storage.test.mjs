// A browser whose storage for the origin is completely full: the app still works for what
// needs no new room. Selecting an item (which the app remembers in localStorage) changes the
// selection without an uncaught error.

import assert from "node:assert/strict";
import { test } from "node:test";

import { addItem, openApp, selectItem, serverAndBrowser, synced } from "./support.mjs";

const env = serverAndBrowser();

test("with the storage full, selecting an item still works and throws nothing", { timeout: 120_000 }, async () => {
  const { server, browser } = env;
  const context = await browser.newContext();
  const page = await openApp(context, server.url);
  await synced(page);
  await addItem(page, { name: "Oats" });
  await addItem(page, { name: "Rice" });
  await synced(page);
  await selectItem(page, "Oats");

  const filled = await page.evaluate(() => {
    let size = 1 << 20;
    let n = 0;
    while (size > 0) {
      try {
        localStorage.setItem(`filler/${n}`, "x".repeat(size));
        n += 1;
      } catch {
        size = Math.floor(size / 2);
      }
    }
    try {
      localStorage.setItem("one-more", "x");
      return false;
    } catch {
      return true;
    }
  });
  assert.ok(filled, "not one more character fits");

  await selectItem(page, "Rice");
  assert.deepEqual(page.errors, []);
  await context.close();
});
