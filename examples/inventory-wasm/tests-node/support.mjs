// Shared by the Node tests: the packed package installed into a fresh project as a user would
// install it, a real annals-server on a free port with its SQLite file in a temporary folder,
// and small helpers.

import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through \`cargo xtask test\``);
  return value;
}

/** A fresh folder that `cleanup()` removes. */
export async function tempDir(prefix) {
  return mkdtemp(join(tmpdir(), `annals-${prefix}-`));
}

/**
 * A new project with the packed packages of `domains` installed (`npm install <tarball>...`),
 * and each package as that project's code sees it: `import ... from "annals-<domain>"`
 * resolved from inside it. Returns the first domain's package.
 */
export async function installPackage(dir, ...domains) {
  if (domains.length === 0) domains.push("inventory");
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "annals-user", private: true, type: "module" }, null, 2),
  );
  const tarballs = domains.map((domain) => required(`ANNALS_${domain.toUpperCase()}_TARBALL`));
  await run("npm", ["install", "--no-audit", "--no-fund", "--no-save", ...tarballs], { cwd: dir });
  await writeFile(join(dir, "reexport.js"), `export * from "annals-${domains[0]}";\n`);
  return import(pathToFileURL(join(dir, "reexport.js")).href);
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

/**
 * A page of `index.html` and `main.js` in `dir` (where the package is installed), built by
 * Vite and served on a free loopback port: `{ site, url }`, `site.close()` to stop it.
 */
export async function buildSite(dir, { page, main }) {
  const vite = fileURLToPath(new URL("./node_modules/vite/bin/vite.js", import.meta.url));
  await writeFile(join(dir, "index.html"), page);
  await writeFile(join(dir, "main.js"), main);
  await run(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: dir });
  const dist = join(dir, "dist");
  const site = createHttpServer(async (request, response) => {
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
  return { site, url: `http://127.0.0.1:${site.address().port}` };
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** annals-server with an embedded SQLite file, started for one test file. */
export async function startServer({ domain = "inventory", port, corsOrigin } = {}) {
  const dir = await tempDir("server");
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--database", `sqlite://${join(dir, "annals.db")}`];
  args.push("--domain", domain);
  if (corsOrigin) args.push("--cors-origin", corsOrigin);
  const child = spawn(required("ANNALS_SERVER_BIN"), args, {
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
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`annals-server did not start: ${stderr}`);
    await sleep(100);
  }
  return {
    url,
    async get(path) {
      const response = await fetch(`${url}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check()` is truthy, up to `ms`. */
export async function eventually(check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not so after ${ms} ms: ${check}`);
    await sleep(25);
  }
}
