// The replica as applications see it: the WebAssembly `Replica` (which decides, folds and
// stores) plus what only JavaScript can do — change notifications, other tabs, the network.
// Values cross the boundary as JSON text.

import { AnnalsError } from "./errors.js";
import { Sync } from "./sync.js";
import { Tabs } from "./tabs.js";

const DOMAINS = ["inventory", "bank"];

// `Core` is the WebAssembly `Replica` class of the domain's module, loaded by the entry point.
export function openReplica(options, Core) {
  const { domain, storage = "memory", server, actor } = options ?? {};
  if (!DOMAINS.includes(domain) || !Core) {
    throw new AnnalsError(
      "unknown_domain",
      `There is no domain ${JSON.stringify(domain)}; use "inventory" or "bank".`,
    );
  }
  const key = options.key ?? `annals/${domain}`;
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
  const core = Core.open(domain, storage, key, actor ?? undefined);
  return new Replica(core, { storage, key, server });
}

class Replica {
  #core;
  #listeners = new Set();
  #tabs = null;
  #sync = null;
  #closed = false;

  constructor(core, { storage, key, server }) {
    this.#core = core;
    this.domain = core.domain();
    this.key = key;
    if (storage === "local") {
      this.#tabs = new Tabs(key, () => this.#refresh());
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
    return outcome;
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
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#sync?.stop();
    this.#tabs?.close();
    this.#listeners.clear();
    this.#core.free();
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
  }

  #emit(change) {
    for (const listener of this.#listeners) {
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
