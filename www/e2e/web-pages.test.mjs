// A hostile web page, in a real Chromium, against annals-server in local mode on the user's
// machine: from a second loopback origin it tries a no-cors POST, a form post, a JSON POST
// and a read; after a DNS rebinding it tries the same under its own name. Nothing is written
// and nothing is read, and each attempt reached the server and was refused there.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { launchBrowser, startServer } from "./support.mjs";

let server;
let attacker;

before(async () => {
  server = await startServer();
  // The attacker's site: any page, on another origin of this machine.
  attacker = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end("<!doctype html><title>cat pictures</title><p>Nothing to see here.");
  });
  await new Promise((resolve) => attacker.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  await server?.stop();
  await new Promise((resolve) => attacker?.close(resolve) ?? resolve());
});

/** A command whose name would show up in the log if it got through. */
function pushBody(name) {
  const item = crypto.randomUUID();
  return JSON.stringify({ commands: [{ id: crypto.randomUUID(), type: "AddItem", data: { item, name, unit: "kg", reorder_level: 0 } }] });
}

/** The statuses the server answered to the page's requests to `target`, as Chromium saw them. */
function statusesFrom(page, target) {
  const seen = [];
  page.on("response", (response) => {
    if (response.url().startsWith(target)) seen.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
  });
  return seen;
}

async function logOfServer() {
  const events = await server.events();
  return events.map((event) => JSON.stringify(event.data)).join("\n");
}

test("a page on another loopback origin can neither write to the server nor read from it", { timeout: 60_000 }, async () => {
  await fetch(`${server.url}/v1/commands`, { method: "POST", headers: { "content-type": "application/json" }, body: pushBody("Our own flour") });
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    const said = [];
    page.on("console", (message) => said.push(message.text()));
    const seen = statusesFrom(page, server.url);
    await page.goto(`http://localhost:${attacker.address().port}/`);
    const outcome = await page.evaluate(async ({ target, simple, json }) => {
      const out = {};
      // A "simple" request: no preflight, the answer is opaque to the page, but it is sent.
      await fetch(`${target}/v1/commands`, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: simple });
      // The classic JSON-in-a-form trick, posted into a hidden frame.
      const frame = document.createElement("iframe");
      frame.name = "sink";
      document.body.append(frame);
      const form = document.createElement("form");
      Object.assign(form, { method: "POST", action: `${target}/v1/commands`, enctype: "text/plain", target: "sink" });
      const field = document.createElement("input");
      field.name = simple.slice(0, -1) + ',"x":"';
      field.value = '"}';
      form.append(field);
      document.body.append(form);
      const posted = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
      form.submit();
      await posted;
      // A JSON write and a read, as a script would try them.
      for (const [name, request] of [
        ["write", () => fetch(`${target}/v1/commands`, { method: "POST", headers: { "content-type": "application/json" }, body: json })],
        ["read", () => fetch(`${target}/v1/events`)],
      ]) {
        try {
          const response = await request();
          out[name] = `${response.status} ${await response.text()}`;
        } catch (error) {
          out[name] = `blocked: ${error.name}`;
        }
      }
      return out;
    }, { target: server.url, simple: pushBody("Pwned by text/plain"), json: pushBody("Pwned by JSON") });

    assert.match(outcome.write, /^blocked/, "the JSON write never got an answer the page can see");
    assert.match(outcome.read, /^blocked/, "the read never got an answer the page can see");
    // Each attempt reached the server and was refused there, before anything was decided.
    assert.ok(seen.includes("POST /v1/commands 403"), seen.join(", "));
    assert.ok(seen.filter((s) => s === "POST /v1/commands 403").length >= 2, `the no-cors POST and the form were refused: ${seen.join(", ")}`);
    // The JSON write stopped at its preflight, which the server refused, so it was never sent.
    assert.ok(said.some((line) => line.includes("/v1/commands") && line.includes("preflight")), said.join("\n"));
    const log = await logOfServer();
    assert.match(log, /Our own flour/);
    assert.doesNotMatch(log, /Pwned/, "nothing was written");
  } finally {
    await browser.close();
  }
});

test("after a DNS rebinding, the attacker's page is refused by its own name", { timeout: 60_000 }, async () => {
  const port = new URL(server.url).port;
  // evil.example now resolves to this machine, as a rebinding DNS server would make it.
  // Chromium's own guard against public pages reaching local addresses is turned off, as in
  // browsers that lack it or for a user who allowed it: the server must hold on its own.
  const browser = await launchBrowser([
    "--host-resolver-rules=MAP evil.example 127.0.0.1",
    "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights",
  ]);
  try {
    const context = await browser.newContext();
    const origin = `http://evil.example:${port}`;
    // The attacker's page, as first loaded from the attacker's own address.
    await context.route(`${origin}/`, (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>cat pictures</title>" }));
    const page = await context.newPage();
    const seen = statusesFrom(page, origin);
    await page.goto(`${origin}/`);
    const outcome = await page.evaluate(async (json) => {
      const out = {};
      for (const [name, request] of [
        ["read", () => fetch("/v1/events")],
        ["view", () => fetch("/v1/views/stock")],
        ["write", () => fetch("/v1/commands", { method: "POST", headers: { "content-type": "application/json" }, body: json })],
      ]) {
        try {
          const response = await request();
          out[name] = { status: response.status, body: await response.text() };
        } catch (error) {
          out[name] = { status: 0, body: `blocked: ${error.name}` };
        }
      }
      return out;
    }, pushBody("Pwned after rebinding"));

    for (const name of ["read", "view", "write"]) {
      assert.equal(outcome[name].status, 421, `${name}: ${outcome[name].body}`);
      assert.equal(JSON.parse(outcome[name].body).error.code, "forbidden_host");
      assert.doesNotMatch(outcome[name].body, /Our own flour/, `${name} leaks the log`);
    }
    assert.ok(seen.includes("GET /v1/events 421"), seen.join(", "));
    assert.doesNotMatch(await logOfServer(), /Pwned/, "nothing was written");
  } finally {
    await browser.close();
  }
});
