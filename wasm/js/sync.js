// Talking to annals-server: push pending commands (POST /v1/commands), pull the log after the
// replica's position (GET /v1/events), and follow it live (GET /v1/subscribe, Server-Sent
// Events read through fetch so a bearer token can be sent, in browsers and in Node alike).
// While the server cannot be reached it backs off exponentially, and a browser's `online`
// event retries at once. A push is safe to repeat: the server answers a command id it has
// seen with its first result.

import { AnnalsError, isAnnalsError } from "./errors.js";

const PAGE = 1000;
const FIRST_DELAY = 500;
const MAX_DELAY = 30_000;

export class Sync {
  #url;
  #token;
  #host;
  #running = null;
  #again = false;
  #live = false;
  #abort = null;
  #wake = null;
  #onOnline = () => this.#wake?.();
  #state = { online: null, syncing: false, live: false, lastSync: null, error: null };

  // host: { outbox(), position(), acknowledge(text), receive(text), status() }
  constructor({ url, token }, host) {
    this.#url = url.replace(/\/+$/, "");
    this.#token = token;
    this.#host = host;
  }

  state() {
    return { ...this.#state };
  }

  // One full round: push every pending command, then pull up to the server's head. Calls
  // made while one runs share it, and it runs once more after.
  run() {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          this.#set({ syncing: true });
          await this.#push();
          await this.#pull();
        } while (this.#again);
        this.#set({ online: true, syncing: false, lastSync: Date.now(), error: null });
      } catch (error) {
        this.#set({ online: !isOffline(error), syncing: false, error: describe(error) });
        throw error;
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  // Something changed here: push it soon, or retry now if waiting to reconnect.
  kick() {
    if (!this.#live) return;
    if (this.#wake) this.#wake();
    else queueMicrotask(() => this.run().catch(() => this.#abort?.abort()));
  }

  // Keeps the replica in sync until `stop`: a round, then the live log, then again after a
  // pause that doubles while the server stays unreachable.
  start() {
    if (this.#live) return;
    this.#live = true;
    this.#set({ live: true });
    globalThis.addEventListener?.("online", this.#onOnline);
    (async () => {
      let failures = 0;
      while (this.#live) {
        try {
          await this.run();
          failures = 0;
          await this.#follow();
        } catch {
          if (!this.#live) break;
          failures += 1;
        }
        if (!this.#live) break;
        const delay = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** Math.max(0, failures - 1));
        await this.#pause(delay * (0.5 + Math.random() / 2));
      }
    })();
  }

  stop() {
    this.#live = false;
    this.#set({ live: false });
    globalThis.removeEventListener?.("online", this.#onOnline);
    this.#abort?.abort();
    this.#wake?.();
  }

  async #push() {
    for (;;) {
      const outbox = this.#host.outbox();
      if (outbox === '{"commands":[]}') return;
      const response = await this.#request("/v1/commands", {
        method: "POST",
        body: outbox,
      });
      const report = this.#host.acknowledge(response);
      // Nothing answered means nothing will be: stop rather than loop.
      if (!report.accepted.length && !report.rejected.length && this.#host.outbox() === outbox) {
        return;
      }
    }
  }

  async #pull() {
    for (;;) {
      const after = this.#host.position();
      const page = await this.#request(`/v1/events?after=${after}&limit=${PAGE}`);
      const report = this.#host.receive(page);
      if (report.head === undefined || report.position >= report.head) return;
      if (report.position === after) {
        throw new AnnalsError("protocol_error", "The server's log did not move past the position asked for.");
      }
    }
  }

  // Reads the live log until it ends or fails.
  async #follow() {
    const abort = new AbortController();
    this.#abort = abort;
    const after = this.#host.position();
    let response;
    try {
      response = await fetch(`${this.#url}/v1/subscribe?after=${after}`, {
        headers: this.#headers({ accept: "text/event-stream" }),
        signal: abort.signal,
      });
    } catch (error) {
      throw offline(this.#url, error);
    }
    if (!response.ok) throw await httpError(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value.replaceAll("\r\n", "\n");
        const events = [];
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const data = dataOf(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (data) events.push(data);
        }
        if (events.length) this.#host.receive(`[${events.join(",")}]`);
      }
    } catch (error) {
      if (abort.signal.aborted) return;
      throw error;
    } finally {
      abort.abort();
      this.#abort = null;
    }
  }

  #pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = this;
      function done() {
        clearTimeout(timer);
        if (wake.#wake === done) wake.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }

  async #request(path, init = {}) {
    let response;
    try {
      response = await fetch(`${this.#url}${path}`, {
        ...init,
        headers: this.#headers(init.body ? { "content-type": "application/json" } : {}),
      });
    } catch (error) {
      throw offline(this.#url, error);
    }
    if (!response.ok) throw await httpError(response);
    return response.text();
  }

  #headers(headers) {
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    return headers;
  }

  #set(changes) {
    const before = JSON.stringify(this.#state);
    Object.assign(this.#state, changes);
    if (JSON.stringify(this.#state) !== before) this.#host.status();
  }
}

// The `data:` lines of one Server-Sent Event, joined; comments and other fields are ignored.
function dataOf(block) {
  let data = null;
  for (const line of block.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const part = line.slice(line.startsWith("data: ") ? 6 : 5);
    data = data === null ? part : `${data}\n${part}`;
  }
  return data;
}

function offline(url, error) {
  return new AnnalsError("offline", `The server at ${url} cannot be reached: ${error.message}`);
}

function isOffline(error) {
  return isAnnalsError(error) && error.code === "offline";
}

async function httpError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: described by the status alone.
  }
  const code = body?.error?.code ?? `http_${response.status}`;
  const message = body?.error?.message ?? `The server answered ${response.status} ${response.statusText}.`;
  return new AnnalsError(code, message, { status: response.status });
}

function describe(error) {
  return isAnnalsError(error)
    ? { code: error.code, message: error.message }
    : { code: "internal", message: String(error?.message ?? error) };
}
