// The packed package in a fresh Vite project: `vite build` bundles it (the browser entry and
// its .wasm), and the built page, opened in headless Chromium, opens a replica in
// localStorage, executes commands, shows the stock view, and still shows it after a reload.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { installPackage, required, tempDir } from "../support.mjs";

const run = promisify(execFile);
const vite = fileURLToPath(new URL("../node_modules/vite/bin/vite.js", import.meta.url));

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

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

let dir;
let site;
let browser;
let profile;

before(async () => {
  dir = await tempDir("vite");
  await installPackage(dir);
  await writeFile(join(dir, "index.html"), PAGE);
  await writeFile(join(dir, "main.js"), MAIN);
  await run(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: dir });
  const dist = join(dir, "dist");
  site = createServer(async (request, response) => {
    const path = normalize(new URL(request.url, "http://x").pathname).replace(/^\/+/, "");
    try {
      const body = await readFile(join(dist, path || "index.html"));
      response.writeHead(200, { "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
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
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("annals/vite")));
  assert.equal(stored.domain, "inventory");
  assert.equal(stored.saved.pending.length, 2);
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
  const ids = await one.evaluate(() =>
    JSON.parse(localStorage.getItem("annals/vite")).saved.pending.map((p) => p.meta.command),
  );
  assert.equal(new Set(ids).size, 4);
});
