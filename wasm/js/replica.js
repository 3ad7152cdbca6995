// The replica as applications see it: the WebAssembly `Replica` (which decides, folds and
// stores) plus what only JavaScript can do — change notifications, other tabs, the network.
// Values cross the boundary as JSON text.

import { AnnalsError } from "./errors.js";
import { Sync } from "./sync.js";
import { Tabs, claimWriter, gone } from "./tabs.js";

// `domain` is the wasm-bindgen glue of the package's module, initialized by the entry point:
// its `open` opens a WebAssembly `Replica` of the package's domain.
export async function openReplica(options, domain) {
  const { storage = "memory", server, actor, key } = options ?? {};
  if (key !== undefined && typeof key !== "string") {
    throw new AnnalsError("invalid_option", "key must be a string.");
  }
  if (storage === "local" && typeof globalThis.localStorage === "undefined") {
    throw new AnnalsError(
      "storage_unavailable",
      'There is no localStorage here (Node has none); use storage "memory".',
    );
  }
  if (server !== undefined && (typeof server !== "object" || typeof server.url !== "string")) {
    throw new AnnalsError("invalid_option", "server must be { url, token? }.");
  }
  const heartbeat = server?.heartbeat;
  if (heartbeat !== undefined && !(Number.isFinite(heartbeat) && heartbeat > 0)) {
    throw new AnnalsError("invalid_option", "server.heartbeat must be milliseconds, over 0.");
  }
  // The writer's lock is held before its entry is first written (see tabs.js).
  const claim = storage === "local" ? await claimWriter() : null;
  let core;
  try {
    core = domain.open(storage, key, claim?.writer, actor ?? undefined);
  } catch (error) {
    claim?.release();
    throw error;
  }
  return new Replica(core, { storage, server, release: claim?.release });
}

class Replica {
  #core;
  #listeners = new Set();
  // The checks of the commands `settled` waits for, run on every change and on close.
  #waiting = new Set();
  #tabs = null;
  #sync = null;
  #closed = false;
  #release;
  #retiring = false;

  constructor(core, { storage, server, release }) {
    this.#core = core;
    this.#release = release;
    this.domain = core.domain();
    this.key = core.key();
    if (storage === "local") {
      this.#tabs = new Tabs(this.key, () => this.#refresh());
      this.#retireGone();
    }
    if (server) {
      this.#sync = new Sync(server, {
        outbox: () => (this.#closed ? '{"commands":[]}' : this.#core.outbox()),
        position: () => (this.#closed ? 0 : this.#core.position()),
        acknowledge: (text) => this.#fromServer(() => this.#core.acknowledge(text)),
        receive: (text) => this.#fromServer(() => this.#core.receive(text)),
        status: () => this.#emit({ source: "status" }),
      });
      if (server.live !== false) {
        const start = () => this.#sync?.start();
        if (this.#tabs) this.#tabs.lead(start);
        else start();
      }
    }
  }

  execute(command) {
    this.#open();
    const outcome = JSON.parse(this.#core.execute(JSON.stringify(command)));
    this.#local();
    // Made when asked for, so an outcome nobody awaits leaves no promise to reject unheard.
    Object.defineProperty(outcome, "settled", { get: () => this.settled(outcome.id) });
    return outcome;
  }

  // Resolves `{ id, status: "accepted" }` once the server has accepted the command; rejects
  // with an `AnnalsError` of the rule's code once it is rejected (by the server, or by a
  // rebase on the server's events). Without a server it waits for a `sync()` or another tab.
  settled(id) {
    this.#open();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.#closed) {
          stop();
          reject(new AnnalsError("closed", "This replica was closed before the command settled."));
          return;
        }
        const status = this.#core.status(id);
        if (status === "accepted") {
          stop();
          resolve({ id, status });
        } else if (status === "rejected") {
          stop();
          const found = this.rejected().find((r) => r.id === id);
          reject(new AnnalsError(found?.code ?? "rejected", found?.message ?? "The command was rejected."));
        } else if (status !== "pending") {
          stop();
          reject(new AnnalsError("unknown_command", `This replica knows no command ${id}.`));
        }
      };
      const stop = () => this.#waiting.delete(check);
      this.#waiting.add(check);
      check();
    });
  }

  // A view, or one row of it, to read and to follow: `get()` hands back the same object while
  // the value is unchanged, and listeners are called only when it changed, so React's
  // `useSyncExternalStore(watch.subscribe, watch.get)` renders only on a change.
  watch(name, key) {
    this.#open();
    const read = () => {
      this.#open();
      return this.#core.view(name, key ?? undefined);
    };
    return new Watch(read, (listener) => this.subscribe(listener));
  }

  undo() {
    this.#open();
    const outcome = JSON.parse(this.#core.undo());
    this.#local();
    return outcome;
  }

  redo() {
    this.#open();
    const outcome = JSON.parse(this.#core.redo());
    this.#local();
    return outcome;
  }

  view(name, key) {
    this.#open();
    return JSON.parse(this.#core.view(name, key ?? undefined));
  }

  stream(name) {
    this.#open();
    return JSON.parse(this.#core.stream(name));
  }

  stateAt(stream, version) {
    this.#open();
    return JSON.parse(this.#core.stateAt(stream, version));
  }

  pending() {
    this.#open();
    return JSON.parse(this.#core.pending());
  }

  rejected() {
    this.#open();
    return JSON.parse(this.#core.rejected());
  }

  dismiss(id) {
    this.#open();
    const dismissed = this.#core.dismiss(id);
    if (dismissed) this.#local(false);
    return dismissed;
  }

  status(id) {
    this.#open();
    return this.#core.status(id) ?? undefined;
  }

  get position() {
    return this.#closed ? 0 : this.#core.position();
  }

  summary() {
    this.#open();
    return JSON.parse(this.#core.summary());
  }

  syncState() {
    return this.#sync ? this.#sync.state() : null;
  }

  openWarnings() {
    this.#open();
    return JSON.parse(this.#core.openWarnings());
  }

  async sync() {
    this.#open();
    if (!this.#sync) {
      throw new AnnalsError("no_server", "This replica was opened without a server to sync with.");
    }
    await this.#sync.run();
  }

  subscribe(listener) {
    // Each call its own entry, so one function subscribed twice is removed once per stop.
    const entry = { listener };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#sync?.stop();
    this.#tabs?.close();
    this.#listeners.clear();
    this.#core.free();
    this.#release?.();
    // What waits for a command to settle learns that it never will here.
    for (const check of [...this.#waiting]) check();
  }

  #open() {
    if (this.#closed) throw new AnnalsError("closed", "This replica was closed.");
  }

  // A change made here: tell listeners and other tabs, and push it if a server is set.
  #local(push = true) {
    this.#tabs?.announce();
    this.#emit({ source: "local" });
    if (push) this.#sync?.kick();
  }

  // A change from the server: stored by the core, then announced.
  #fromServer(apply) {
    if (this.#closed) return { accepted: [], rejected: [], position: 0 };
    const before = this.#core.position();
    const report = JSON.parse(apply());
    if (report.accepted.length || report.rejected.length || report.position !== before) {
      this.#tabs?.announce();
      this.#emit({ source: "remote", accepted: report.accepted, rejected: report.rejected });
    }
    return report;
  }

  // Another tab (or replica on this key) wrote: take its state in, keeping ours.
  #refresh() {
    if (this.#closed) return;
    let changed;
    try {
      changed = this.#core.refresh();
    } catch (error) {
      this.#emit({ source: "status", error });
      return;
    }
    if (changed) {
      this.#emit({ source: "remote", accepted: [], rejected: [] });
      this.#sync?.kick();
    }
    this.#retireGone();
  }

  // Takes in and removes the entries of writers whose tabs are gone.
  async #retireGone() {
    if (this.#retiring || this.#closed) return;
    this.#retiring = true;
    try {
      for (const writer of await gone(JSON.parse(this.#core.writers()))) {
        if (this.#closed) return;
        if (this.#core.retire(writer)) {
          this.#tabs?.announce();
          this.#emit({ source: "remote", accepted: [], rejected: [] });
          this.#sync?.kick();
        }
      }
    } catch (error) {
      if (!this.#closed) this.#emit({ source: "status", error });
    } finally {
      this.#retiring = false;
    }
  }

  #emit(change) {
    for (const check of [...this.#waiting]) check();
    for (const { listener } of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

// One view or row followed: its value is parsed again only when its JSON text changed.
class Watch {
  #read;
  #follow;
  #text;
  #value;

  constructor(read, follow) {
    this.#read = read;
    this.#follow = follow;
    this.#update();
  }

  get = () => {
    this.#update();
    return this.#value;
  };

  subscribe = (listener) =>
    this.#follow(() => {
      let changed;
      try {
        changed = this.#update();
      } catch {
        return; // The replica was closed.
      }
      if (changed) listener(this.#value);
    });

  #update() {
    const text = this.#read();
    if (text === this.#text) return false;
    this.#text = text;
    this.#value = JSON.parse(text);
    return true;
  }
}
