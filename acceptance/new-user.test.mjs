// A new user's app, made as docs/guide.md says, in an empty folder outside the repository:
// the domain crate, its server, a wasm crate of a few lines packed by `cargo annals pack`, and
// a Vite page importing the package. Then, in headless Chromium: a to-do added offline
// survives a reload and reaches the server once; a command from a second browser that
// conflicts shows its typed rejection.
//
// Files the guide gives whole (`# path` TOML blocks, `// examples/todo-web/...` blocks) are
// written from the guide's text; the domain's Rust code, which the guide shows in excerpts
// checked against examples/ (examples/todo/tests/guide.rs), is copied from there, as is the
// page's index.html. Every command run here is one the guide gives.
//
// Set by `cargo xtask test`: ANNALS_PACK_DIR (the folder holding the cargo-annals binary),
// ANNALS_CHROMIUM, CARGO_TARGET_DIR (a target folder kept between runs, so builds after the
// first are incremental).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GUIDE = readFileSync(join(ROOT, "docs/guide.md"), "utf8");
const work = mkdtempSync(join(tmpdir(), "annals-new-user-"));
const app = join(work, "todo-app");
const env = {
  ...process.env,
  PATH: [required("ANNALS_PACK_DIR"), process.env.PATH].join(delimiter),
};

let server;
let browser;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through \`cargo xtask test\``);
  return value;
}

/** The guide's fenced blocks: `{ lang, marker, code }`, `marker` being a first line naming a file. */
function blocks() {
  return GUIDE.split("\n```")
    .slice(1)
    .filter((_, i) => i % 2 === 0)
    .map((block) => {
      const [lang, ...lines] = block.split("\n");
      const first = lines[0] ?? "";
      const marker = first.match(/^(?:#|\/\/) ((?:examples\/)?[\w./-]+\.\w+)$/)?.[1];
      return { lang, marker, code: (marker ? lines.slice(1) : lines).join("\n") };
    });
}

/** Writes `text` at `path` under the app, making its folders. */
function write(path, text) {
  const file = join(app, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
}

/** Runs a command the guide gives, in `cwd` under the app; fails on a non-zero exit. */
async function run(command, cwd = ".") {
  assert.ok(GUIDE.includes(command), `the guide does not say \`${command}\``);
  const child = spawn("sh", ["-c", command], { cwd: join(app, cwd), env, stdio: ["ignore", "inherit", "inherit"] });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, `\`${command}\` failed (${code})`);
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The app's server as the guide starts it, on a free port; resolves once it answers. */
async function startServer() {
  const port = await freePort();
  const command = `cargo run -p annals-todo-server -- serve --listen 127.0.0.1:8080 --database sqlite://todo.db --static todo-web/dist`;
  assert.ok(GUIDE.includes(command), "the guide starts the server so");
  const args = ["run", "-q", "-p", "annals-todo-server", "--", "serve", "--listen", `127.0.0.1:${port}`];
  args.push("--database", `sqlite://${join(work, "todo.db")}`, "--static", "todo-web/dist");
  const child = spawn("cargo", args, { cwd: app, env, stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries += 1) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (tries > 1200) throw new Error("the server did not start within 10 minutes");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { url, child };
}

before(async () => {
  symlinkSync(ROOT, join(work, "annals"));
  mkdirSync(app);
  // The crates and the workspace: the TOML files the guide gives whole, the last one of each
  // path winning (the guide adds the wasm crate to the workspace in its last section).
  const given = new Map();
  for (const { lang, marker, code } of blocks()) {
    if (lang === "toml" && marker && !marker.startsWith("examples/")) given.set(marker, code);
  }
  for (const path of ["Cargo.toml", "todo/Cargo.toml", "todo-server/Cargo.toml", "todo-wasm/Cargo.toml"]) {
    assert.ok(given.has(path), `the guide gives ${path}`);
  }
  for (const [path, code] of given) write(path, code);
  // The domain and its server, which the guide shows from examples/.
  cpSync(join(ROOT, "examples/todo/src"), join(app, "todo/src"), { recursive: true });
  cpSync(join(ROOT, "examples/todo-server/src"), join(app, "todo-server/src"), { recursive: true });
  // The wasm crate's lib.rs and the page's package.json and vite.config.js, as the guide
  // gives them; the page's index.html and the rest of its main.ts from examples/todo-web.
  const shown = new Map(blocks().filter((b) => b.marker).map((b) => [b.marker, b.code]));
  const lib = shown.get("examples/todo-wasm/src/lib.rs");
  assert.ok(lib && lib.trim().split("\n").length <= 5, `the wasm crate is at most 5 lines: ${lib}`);
  write("todo-wasm/src/lib.rs", lib);
  for (const file of ["package.json", "vite.config.js"]) {
    write(`todo-web/${file}`, shown.get(`examples/todo-web/${file}`));
  }
  for (const file of ["index.html", "main.ts"]) {
    cpSync(join(ROOT, "examples/todo-web", file), join(app, "todo-web", file));
  }
  // The same dependency versions as annals' own builds.
  cpSync(join(ROOT, "Cargo.lock"), join(app, "Cargo.lock"));

  await run("cargo annals pack --manifest-path todo-wasm/Cargo.toml");
  await run("cd todo-web && npm install && npx vite build && cd ..");
  server = await startServer();
  browser = await chromium.launch({
    executablePath: required("ANNALS_CHROMIUM"),
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
  server?.child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

/** The page, opened and synced. */
async function openPage(context) {
  const page = await context.newPage();
  await page.goto(server.url);
  await page.locator("#sync", { hasText: "synced" }).waitFor();
  return page;
}

/** Cuts the page's replica off from the server's API, as when offline; the page still loads. */
async function cutOff(context) {
  await context.route("**/v1/**", (route) => route.abort("internetdisconnected"));
}

async function events() {
  const response = await fetch(`${server.url}/v1/events?after=0&limit=1000`);
  return (await response.json()).events;
}

test("offline, a reload, one sync; a conflict from a second browser shows its typed rejection", { timeout: 900_000 }, async () => {
  const first = await browser.newContext();
  const a = await openPage(first);

  await cutOff(first);
  await a.fill("#title", "Milk");
  await a.press("#title", "Enter");
  await a.locator("#list li", { hasText: "Milk" }).waitFor();
  await a.locator("#sync", { hasText: "1 to sync" }).waitFor();
  assert.equal((await events()).length, 0, "nothing reached the server while offline");

  await a.reload();
  await a.locator("#list li", { hasText: "Milk" }).waitFor();
  await a.locator("#sync", { hasText: "1 to sync" }).waitFor();

  await first.unroute("**/v1/**");
  await a.reload();
  await a.locator("#sync", { hasText: "synced" }).waitFor();
  await a.reload();
  await a.locator("#sync", { hasText: "synced" }).waitFor();
  const added = (await events()).filter((e) => e.type === "TodoAdded");
  assert.equal(added.length, 1, "synced once");
  assert.equal(added[0].data.title, "Milk");

  // A second browser has the to-do too. Both go offline: one deletes it, the other renames it.
  const second = await browser.newContext();
  const b = await openPage(second);
  await b.locator("#list li", { hasText: "Milk" }).waitFor();
  await cutOff(first);
  await cutOff(second);
  await a.locator("#list li", { hasText: "Milk" }).locator("button").click();
  await a.locator("#list li").first().waitFor({ state: "detached" });
  await b.locator("#list li label", { hasText: "Milk" }).dblclick();
  await b.fill("#list li input.edit", "Oat milk");
  await b.press("#list li input.edit", "Enter");
  await b.locator("#list li", { hasText: "Oat milk" }).waitFor();

  // The delete reaches the server first; the rename is refused with the rule's code.
  await first.unroute("**/v1/**");
  await a.reload();
  await a.locator("#sync", { hasText: "synced" }).waitFor();
  await second.unroute("**/v1/**");
  await b.reload();
  const refused = b.locator("#rejected li");
  await refused.waitFor();
  assert.match(await refused.textContent(), /^deleted_todo: "Milk" was deleted\./);
  assert.equal(await b.locator("#list li").count(), 0);
  const shots = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  await b.screenshot({ path: join(shots, "new-user-todo.png") });
  const types = (await events()).map((e) => e.type);
  assert.deepEqual(types, ["TodoAdded", "TodoDeleted"], "the refused rename recorded nothing");
});

/** The schema of the `data` of command `type` in an OpenAPI document the server wrote. */
function commandData(document, type) {
  const schemas = document.components.schemas;
  const union = Object.values(schemas).find((s) => s.anyOf?.some((m) => m.properties?.type?.const === type));
  assert.ok(union, `the document describes the command ${type}`);
  return union.anyOf.find((m) => m.properties.type.const === type).properties.data;
}

test("the server's OpenAPI document follows a change of a command's field in Rust", { timeout: 900_000 }, async () => {
  const command = "cargo run -p annals-todo-server -- openapi --output openapi.json";
  await run(command);
  const before = JSON.parse(readFileSync(join(app, "openapi.json"), "utf8"));
  const added = commandData(before, "AddTodo");
  assert.deepEqual(added.required, ["todo", "title"]);
  assert.equal(added.properties.todo.format, "uuid");
  assert.match(added.properties.title.description, /^Its title: trimmed, 1 to `TITLE_LENGTH` characters\.$/);

  // The field `title` of AddTodo, renamed on the wire and documented anew, in Rust only.
  const commands = join(app, "todo/src/commands.rs");
  const source = readFileSync(commands, "utf8");
  const field = "        /// Its title: trimmed, 1 to [`TITLE_LENGTH`](crate::TITLE_LENGTH) characters.\n        title: String,\n    },\n    /// Give a to-do a new title.";
  assert.ok(source.includes(field), "AddTodo's title, as examples/todo has it");
  const renamed = "        /// What the to-do says.\n        #[json(rename = \"label\")]\n        title: String,\n    },\n    /// Give a to-do a new title.";
  writeFileSync(commands, source.replace(field, renamed));
  try {
    await run(command);
  } finally {
    writeFileSync(commands, source);
  }
  const after = JSON.parse(readFileSync(join(app, "openapi.json"), "utf8"));
  const changed = commandData(after, "AddTodo");
  assert.deepEqual(changed.required, ["todo", "label"]);
  assert.equal(changed.properties.label.description, "What the to-do says.");
  assert.equal(changed.properties.title, undefined);
  // Nothing else changed: the rest of the document is the same.
  for (const document of [before, after]) delete commandData(document, "AddTodo").properties;
  for (const document of [before, after]) delete commandData(document, "AddTodo").required;
  assert.deepEqual(after, before);
});
