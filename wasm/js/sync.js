// Talking to annals-server: push pending commands (POST /v1/commands), pull the log after the
// replica's position (GET /v1/events), and follow it live (GET /v1/subscribe, Server-Sent
// Events read through fetch so a bearer token can be sent, in browsers and in Node alike).
// While the server cannot be reached it backs off exponentially, and a browser's `online`
// event retries at once. A push is safe to repeat: the server answers a command id it has
// seen with its first result. A live connection silent for two missed heartbeats is dropped
// and opened again after the replica's position.

import { AnnalsError, isAnnalsError } from "./errors.js";

// An empty push.
const NOTHING = '{"commands":[]}';

const PAGE = 1000;
const FIRST_DELAY = 500;
const MAX_DELAY = 30_000;
const HEARTBEAT = 15_000; // annals-server's

export class Sync {
  #url;
  #token;
  #heartbeat;
  #host;
  #running = null;
  #again = false;
  #live = false;
  #abort = null;
  #wake = null;
  #onOnline = () => this.#wake?.();
  #state = { online: null, syncing: false, live: false, lastSync: null, error: null };

  // host: { outbox(), position(), acknowledge(text), receive(text), status() }
  constructor({ url, token, heartbeat = HEARTBEAT }, host) {
    this.#url = url.replace(/\/+$/, "");
    this.#token = token;
    this.#heartbeat = heartbeat;
    this.#host = host;
  }

  state() {
    return { ...this.#state };
  }

  // One full round: push every pending command, then pull up to the server's head; again when
  // the pull let through commands that had to wait (an undo waits until its command is in
  // the log). Calls made while one runs share it, and it runs once more after.
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
          const waiting = this.#host.outbox();
          await this.#pull();
          if (waiting !== NOTHING && this.#host.outbox() !== waiting) this.#again = true;
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
      if (outbox === NOTHING) return;
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

  // Reads the live log until it ends, fails, or stays silent for two missed heartbeats.
  async #follow() {
    const abort = new AbortController();
    this.#abort = abort;
    const silence = Math.min(2 ** 31 - 1, this.#heartbeat * 2.5);
    let silent = false;
    let timer;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        abort.abort();
      }, silence);
    };
    const dead = () => new AnnalsError("offline", `The server at ${this.#url} went silent.`);
    try {
      watch();
      const after = this.#host.position();
      let response;
      try {
        response = await fetch(`${this.#url}/v1/subscribe?after=${after}`, {
          headers: this.#headers({ accept: "text/event-stream" }),
          signal: abort.signal,
        });
      } catch (error) {
        throw silent ? dead() : offline(this.#url, error);
      }
      if (!response.ok) throw await httpError(response);
      // The parser, not the decoder, skips the BOM.
      const text = new TextDecoderStream("utf-8", { ignoreBOM: true });
      const reader = response.body.pipeThrough(text).getReader();
      // Each event's data is one envelope (its id is its position).
      const events = [];
      const feed = eventStream({
        event: ({ type, data }) => type === "message" && events.push(data),
      });
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          watch();
          feed(value);
          if (events.length) this.#host.receive(`[${events.splice(0).join(",")}]`);
        }
      } catch (error) {
        if (silent) throw dead();
        if (abort.signal.aborted) return;
        throw error;
      }
    } finally {
      clearTimeout(timer);
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

// Server-Sent Events as the HTML standard parses them, from text cut anywhere: lines end with
// CRLF, LF or CR (also a CR ending one chunk and an LF starting the next); a first BOM is
// skipped; an id holding NUL is ignored, and an id lasts until the next. Calls
// `event({ type, data, id })` on a blank line after data, `comment(text)` and `retry(ms)`.
export function eventStream({ event, comment, retry }) {
  let line = "";
  let begun = false;
  let afterCR = false;
  let id = "";
  let type = "";
  let data = "";
  let hasData = false;
  const ending = /\r\n?|\n/g;

  function field(text) {
    if (!text) {
      if (hasData) event({ type: type || "message", data, id });
      type = data = "";
      hasData = false;
      return;
    }
    const colon = text.indexOf(":");
    if (colon === 0) return comment?.(text.slice(text[1] === " " ? 2 : 1));
    const name = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? "" : text.slice(text[colon + 1] === " " ? colon + 2 : colon + 1);
    if (name === "data") {
      data = hasData ? `${data}\n${value}` : value;
      hasData = true;
    } else if (name === "event") type = value;
    else if (name === "id") {
      if (!value.includes("\0")) id = value;
    } else if (name === "retry" && /^[0-9]+$/.test(value)) retry?.(Number(value));
  }

  return (chunk) => {
    if (!chunk) return;
    let start = 0;
    if (!begun) {
      begun = true;
      if (chunk[0] === "\ufeff") start = 1;
    }
    if (afterCR && chunk[start] === "\n") start += 1;
    afterCR = false;
    ending.lastIndex = start;
    let match;
    while ((match = ending.exec(chunk))) {
      field(line + chunk.slice(start, match.index));
      line = "";
      start = ending.lastIndex;
      afterCR = match[0] === "\r" && start === chunk.length;
    }
    line += chunk.slice(start);
  };
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
