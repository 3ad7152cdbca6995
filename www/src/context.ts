// What every part of the screen shares: the replica, the selected item, and how to run a
// command and report why one was refused.

import type { Command, Replica, Uuid } from "annals-inventory";

export type Inventory = Replica;

export interface Context {
  readonly replica: Inventory;
  /** Runs `command`; on refusal shows the reason in `errorLine` (or the notice) and returns false. */
  execute(command: Command, errorLine?: HTMLElement): boolean;
  selected(): Uuid | null;
  select(item: Uuid | null): void;
  /** Draws the screen again from the replica. */
  render(): void;
  /** A short message at the top of the page. */
  notify(message: string, code?: string): void;
}
