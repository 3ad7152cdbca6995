// Several tabs (or several replicas in one page) on one storage key. Each replica writes its
// commands only in an entry of its own, `<key>/tab/<writer>`, and takes in the others' (the
// WebAssembly side merges pending commands by id): no such entry has two writers, so no write
// can be lost to another's out-of-date read. The confirmed state, the server's, is kept once in
// `<key>/confirmed`. A replica holds the Web Lock `annals:writer:<writer>` from
// before its first write until it closes (or its page goes away), so another tab can tell a
// writer that is gone, and retire its entry: take it in, store it in its own, then remove it.
// This file makes the others notice a write at once (the `storage` event reaches other tabs,
// a BroadcastChannel also reaches replicas in the same page), and picks one tab to keep the
// live connection to the server (Web Locks), so the tabs do not all sync. Where Web Locks are
// missing every tab syncs (the server's idempotency by command id makes a double push
// harmless) and no entry is retired.

const locks = () => globalThis.navigator?.locks;

// A new writer id, with its lock held until `release()`.
export async function claimWriter() {
  // randomUUID is missing outside secure contexts; getRandomValues is not.
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const writer = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  let release = () => {};
  if (locks()) {
    await new Promise((granted, failed) => {
      locks()
        .request(`annals:writer:${writer}`, () => {
          granted();
          return new Promise((resolve) => {
            release = resolve;
          });
        })
        .catch(failed);
    });
  }
  return { writer, release: () => release() };
}

// The writers among `writers` whose lock nobody holds: their replicas are gone.
export async function gone(writers) {
  if (!locks() || writers.length === 0) return [];
  const { held = [] } = await locks().query();
  const alive = new Set(held.map((lock) => lock.name));
  return writers.filter((writer) => !alive.has(`annals:writer:${writer}`));
}

export class Tabs {
  #key;
  #channel = null;
  #onStorage;
  #release = null;
  #closed = false;

  constructor(key, changed) {
    this.#key = key;
    if (typeof BroadcastChannel !== "undefined") {
      this.#channel = new BroadcastChannel(`annals:${key}`);
      this.#channel.onmessage = () => changed();
    }
    const [tabs, confirmed] = [`${key}/tab/`, `${key}/confirmed`];
    this.#onStorage = (event) => {
      const k = event.key;
      if (k === null || k === key || k === confirmed || k.startsWith(tabs)) changed();
    };
    globalThis.addEventListener?.("storage", this.#onStorage);
  }

  // This replica wrote its entry.
  announce() {
    this.#channel?.postMessage("changed");
  }

  // Runs `start` once this tab holds the sync lock, for as long as the tab lives.
  lead(start) {
    if (!locks()) {
      start();
      return;
    }
    locks()
      .request(`annals:${this.#key}:sync`, () => {
        if (this.#closed) return undefined;
        start();
        return new Promise((resolve) => {
          this.#release = resolve;
        });
      })
      .catch(() => {});
  }

  close() {
    this.#closed = true;
    this.#release?.();
    this.#channel?.close();
    globalThis.removeEventListener?.("storage", this.#onStorage);
  }
}
