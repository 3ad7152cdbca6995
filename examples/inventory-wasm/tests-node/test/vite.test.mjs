// The packed package in a fresh Vite project: `vite build` bundles it (the browser entry and
// its .wasm), and the built page, opened in headless Chromium, opens a replica in
// localStorage, executes commands, shows the stock view, and still shows it after a reload.

import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { buildSite, installPackage, required, tempDir } from "../support.mjs";


const PAGE = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>annals in Vite</title></head>
  <body>
    <p id="stock">loading</p>
    <p id="refused"></p>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

const MAIN = `import { open, AnnalsError } from "annals-inventory";

const item = "6a3e4b1c-9d2f-4e8a-b7c6-5d4e3f2a1b0c";

async function main() {
  const replica = await open({ storage: "local", key: "annals/vite" });
  if (!replica.view("stock", item)) {
    replica.execute({ type: "AddItem", data: { item, name: "Rice", unit: "kg" } });
    replica.execute({ type: "ReceiveStock", data: { item, site: "crossroads", qty: 7 } });
  }
  try {
    replica.execute({ type: "ConsumeStock", data: { item, site: "crossroads", qty: 100 } });
  } catch (error) {
    document.querySelector("#refused").textContent =
      (error instanceof AnnalsError ? "AnnalsError " : "") + error.code;
  }
  const render = () => {
    const row = replica.view("stock", item);
    document.querySelector("#stock").textContent =
      row.name + ": " + row.total + " " + row.unit + " at " + Object.keys(row.sites).join(", ") +
      " (" + replica.pending().length + " pending)";
  };
  render();
  replica.subscribe(render);
  window.consume = (qty) => replica.execute({ type: "ConsumeStock", data: { item, site: "crossroads", qty } });
}

main().catch((error) => {
  document.querySelector("#stock").textContent = "failed: " + error.message;
});
`;

let dir;
let site;
let browser;
let profile;

before(async () => {
  dir = await tempDir("vite");
  await installPackage(dir);
  ({ site } = await buildSite(dir, { page: PAGE, main: MAIN }));
  profile = await tempDir("chromium");
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: required("ANNALS_CHROMIUM"),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  site?.close();
  await rm(dir, { recursive: true, force: true });
  if (profile) await rm(profile, { recursive: true, force: true });
});

test("a Vite build of the package runs in Chromium and keeps its state in localStorage", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const url = `http://127.0.0.1:${site.address().port}/`;
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector("#stock").textContent !== "loading");
  assert.equal(await page.textContent("#stock"), "Rice: 7 kg at crossroads (2 pending)");
  assert.equal(await page.textContent("#refused"), "AnnalsError insufficient_stock");

  await page.reload();
  await page.waitForFunction(() => document.querySelector("#stock").textContent !== "loading");
  assert.equal(await page.textContent("#stock"), "Rice: 7 kg at crossroads (2 pending)");
  // One entry per page that wrote (see tabs.js); the one of the page gone with the reload is
  // retired by the new page once its commands are in the new page's own.
  await page.waitForFunction(
    () => Object.keys(localStorage).filter((key) => key.startsWith("annals/vite/tab/")).length === 1,
  );
  const stored = await page.evaluate(() =>
    Object.keys(localStorage)
      .filter((key) => key.startsWith("annals/vite/tab/"))
      .map((key) => JSON.parse(localStorage.getItem(key))),
  );
  assert.equal(stored.length, 1);
  assert.equal(stored[0].domain, "inventory");
  assert.equal(stored[0].saved.pending.length, 2);
  assert.deepEqual(errors, []);
});

test("two tabs of the app share one replica: a command in one shows in the other, once", async () => {
  const url = `http://127.0.0.1:${site.address().port}/`;
  const [one, two] = [await browser.newPage(), await browser.newPage()];
  for (const page of [one, two]) {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector("#stock").textContent !== "loading");
  }
  await one.evaluate(() => window.consume(2));
  await two.waitForFunction(() => document.querySelector("#stock").textContent.startsWith("Rice: 5 kg"));
  await two.evaluate(() => window.consume(1));
  await one.waitForFunction(() => document.querySelector("#stock").textContent.startsWith("Rice: 4 kg"));
  assert.equal(await one.textContent("#stock"), "Rice: 4 kg at crossroads (4 pending)");
  assert.equal(await two.textContent("#stock"), "Rice: 4 kg at crossroads (4 pending)");
  const entries = await one.evaluate(() =>
    Object.keys(localStorage)
      .filter((key) => key.startsWith("annals/vite/tab/"))
      .map((key) => JSON.parse(localStorage.getItem(key)).saved.pending.map((p) => p.meta.command)),
  );
  assert.ok(entries.length >= 2, "each page writes an entry of its own");
  assert.equal(new Set(entries.flat()).size, 4);
});
