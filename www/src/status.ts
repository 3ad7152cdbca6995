// The sync state in the top bar: online or offline, how many commands wait for the server,
// and when the server was last heard from.

import { handle } from "./dom";
import type { Inventory } from "./context";
import { when } from "./words";

export function renderStatus(replica: Inventory, lastHeard: number | null) {
  const bar = handle("sync-state");
  const online = handle("sync-online");
  const pending = handle("pending-count");
  const last = handle("last-sync");
  const sync = replica.syncState();
  const summary = replica.summary();

  let state: "online" | "offline" | "unknown";
  if (!navigator.onLine || sync?.online === false) state = "offline";
  else if (sync?.online) state = "online";
  else state = "unknown";
  bar.dataset.online = state;
  bar.dataset.syncing = String(Boolean(sync?.syncing));
  online.textContent =
    state === "online"
      ? "Online"
      : state === "offline"
        ? "Offline — working on this device"
        : sync && !sync.live
          ? "Another tab keeps the connection"
          : "Connecting…";

  pending.dataset.count = String(summary.pending);
  pending.textContent =
    summary.pending === 0 ? "Nothing waiting" : `${summary.pending} waiting to sync`;

  const heard = Math.max(sync?.lastSync ?? 0, lastHeard ?? 0);
  const error = sync?.error && sync.error.code !== "offline" ? sync.error : null;
  last.textContent = error ? `Sync failed: ${error.message}` : heard ? `Last sync ${when(heard)}` : "Not synced yet";
  last.dataset.at = heard ? String(heard) : "";
  bar.title = sync?.error ? `${sync.error.code}: ${sync.error.message}` : "";

  handle<HTMLButtonElement>("undo").disabled = !summary.canUndo;
  handle<HTMLButtonElement>("redo").disabled = !summary.canRedo;
}
