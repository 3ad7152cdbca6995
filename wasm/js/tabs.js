// Several tabs (or several replicas in one page) on one storage key. The WebAssembly side
// re-reads the stored entry before every write and merges pending commands by id, so none
// is lost or doubled; this file makes the others notice a write at once (the `storage` event
// reaches other tabs, a BroadcastChannel also reaches replicas in the same page), and picks
// one tab to keep the live connection to the server (Web Locks), so the tabs do not all sync.
// Where Web Locks are missing every tab syncs: the server's idempotency by command id makes
// a double push harmless.

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
    this.#onStorage = (event) => {
      if (event.key === key || event.key === null) changed();
    };
    globalThis.addEventListener?.("storage", this.#onStorage);
  }

  // This replica wrote the entry.
  announce() {
    this.#channel?.postMessage("changed");
  }

  // Runs `start` once this tab holds the sync lock, for as long as the tab lives.
  lead(start) {
    const locks = globalThis.navigator?.locks;
    if (!locks) {
      start();
      return;
    }
    locks
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
