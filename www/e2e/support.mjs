// Shared by the end-to-end tests: a real annals-server on a free port, with a fresh SQLite file
// in a temporary folder, serving the built app (dist/); headless Chromium through
// playwright-core; and the few gestures the tests repeat, done through the page as a person
// would (labels, buttons, Enter).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const WWW = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(WWW, "dist");
const SCREENSHOTS = join(WWW, "screenshots");

/** The flags that run Chromium headless here, as root, without reaching out to the network. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function serverBinary() {
  const binary = process.env.ANNALS_SERVER_BIN ?? join(WWW, "../target/debug/annals-server");
  if (!existsSync(binary)) {
    throw new Error(`no annals-server at ${binary}: run these tests through \`cargo xtask test\``);
  }
  return binary;
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * annals-server serving the built app, with its own SQLite file. `down()` stops the process
 * and `up()` starts it again on the same port and file; `stop()` removes both.
 */
export async function startServer() {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error(`the app is not built (${DIST}): run \`npm run build\` in www/ first`);
  }
  const dir = await mkdtemp(join(tmpdir(), "annals-www-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--database", `sqlite://${join(dir, "annals.db")}`];
  args.push("--static", DIST);
  let running = null;

  async function up() {
    const child = spawn(serverBinary(), args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, RUST_LOG: "warn" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`annals-server exited: ${stderr}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`annals-server did not start: ${stderr}`);
      await sleep(100);
    }
    running = { child, exited };
  }

  async function down() {
    if (!running) return;
    running.child.kill("SIGTERM");
    await running.exited;
    running = null;
  }

  await up();
  return {
    url,
    up,
    down,
    async get(path) {
      const response = await fetch(`${url}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    /** The whole log, page by page. */
    async events() {
      const all = [];
      for (;;) {
        const page = await this.get(`/v1/events?after=${all.at(-1)?.position ?? 0}&limit=1000`);
        all.push(...page.events);
        if (page.events.length === 0 || all.at(-1).position >= page.head) return all;
      }
    },
    async stop() {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium; each launch starts from a fresh, temporary profile. */
/** A real annals-server and Chromium for the tests of one file: started before them and
 * stopped after them. Read `server` and `browser` from the returned object inside a test. */
export function serverAndBrowser() {
  const env = {};
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.ANNALS_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/** A new tab on the app, once the replica is open and the screen drawn. */
export async function openApp(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !/Failed to (load resource|fetch)|ERR_INTERNET_DISCONNECTED/.test(message.text())) {
      page.errors.push(message.text());
    }
  });
  await page.goto(url);
  await ready(page);
  return page;
}

export async function ready(page) {
  await page.waitForSelector("body[data-ready=true]");
}

/** Waits until the service worker controls the page (it claims it once installed). */
export async function serviceWorkerInControl(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (navigator.serviceWorker.controller) return;
    await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
  });
}

/** Waits until the page says it is online with nothing waiting. */
export async function synced(page) {
  await page.waitForSelector('[data-testid=sync-state][data-online=online] [data-testid=pending-count][data-count="0"]');
}

export async function offline(page) {
  await page.waitForSelector("[data-testid=sync-state][data-online=offline]");
}

export async function pendingCount(page) {
  return Number(await page.getAttribute("[data-testid=pending-count]", "data-count"));
}

/** Adds an item through the form, as typed, and returns its id. */
export async function addItem(page, { name, unit = "pcs", reorder = 0 }) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Unit").fill(unit);
  await page.getByLabel("Reorder below").fill(String(reorder));
  await page.getByLabel("Reorder below").press("Enter");
  const row = page.locator("[data-testid=item-row]", { has: page.getByRole("button", { name, exact: true }) });
  await row.waitFor();
  return row.getAttribute("data-item");
}

/** Selects the item named `name` in the items table. */
export async function selectItem(page, name) {
  await page.getByTestId("items-table").getByRole("button", { name, exact: true }).click();
  await page.waitForFunction(
    (name) => document.querySelector("[data-testid=item-summary] strong")?.textContent === name,
    name,
  );
}

const ACTIONS = { receive: "Received", consume: "Used", count: "Counted" };

/** Records stock received, used or counted at a site for the selected item, with Enter. */
export async function record(page, action, site, qty) {
  await page.getByLabel(ACTIONS[action], { exact: true }).check();
  await page.getByTestId("stock-site").fill(site);
  await page.getByTestId("stock-qty").fill(String(qty));
  await page.getByTestId("stock-qty").press("Enter");
}

/** The total the items table shows for the item `item`. */
export async function totalOf(page, item) {
  const text = await page.locator(`[data-testid=item-row][data-item="${item}"] [data-testid=item-total] b`).textContent();
  return Number(text);
}

export async function waitForTotal(page, item, total) {
  await page.waitForSelector(`[data-testid=item-row][data-item="${item}"] [data-testid=item-total] b:text-is("${total}")`);
}

/**
 * Saves a screenshot of a page (whole) or of one element into www/screenshots/ (not
 * committed), for people to look at.
 */
export async function screenshot(target, name, options = {}) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const whole = typeof target.goto === "function" ? { fullPage: true } : {};
  await target.screenshot({ path: join(SCREENSHOTS, `${name}.png`), animations: "disabled", ...whole, ...options });
}
