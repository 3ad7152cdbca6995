// The app: wires the page to the replica and redraws what changed whenever the replica says
// something happened (a command here, news from the server or another tab, a sync status).

import { isAnnalsError } from "annals-inventory";
import type { Command, Uuid } from "annals-inventory";
import type { Context, Inventory } from "./context";
import { handle, say } from "./dom";
import { newId } from "./ids";
import { ItemPanel } from "./item";
import { renderActivity, renderItems, renderLowStock, renderRejected, renderReorders, renderSites } from "./lists";
import { renderStatus } from "./status";
import { DEFAULT_SITES } from "./words";

const SELECTED_KEY = "cafeteria/selected";
const NOTICE_MS = 8000;

export class App implements Context {
  readonly replica: Inventory;
  #selected: Uuid | null;
  #item: ItemPanel;
  #lastHeard: number | null = null;
  #noticeTimer: number | undefined;

  constructor(replica: Inventory) {
    this.replica = replica;
    this.#selected = localStorage.getItem(SELECTED_KEY);
    this.#item = new ItemPanel(this);
    this.#wireAddForm();
    this.#wireToolbar();
    replica.subscribe((change) => {
      if (change.source === "remote") this.#lastHeard = Date.now();
      if (change.error) this.notify(change.error.message, change.error.code);
      this.render();
    });
    addEventListener("online", () => this.render());
    addEventListener("offline", () => this.render());
    handle("show-retired").addEventListener("change", () => this.render());
    for (const warning of replica.openWarnings()) this.notify(warning.message, warning.code);
    this.render();
  }

  execute(command: Command, errorLine?: HTMLElement): boolean {
    try {
      this.replica.execute(command);
      if (errorLine) say(errorLine, "");
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = isAnnalsError(error) ? error.code : "error";
      if (errorLine) say(errorLine, message, code);
      else this.notify(message, code);
      return false;
    }
  }

  selected(): Uuid | null {
    return this.#selected;
  }

  select(item: Uuid | null) {
    this.#selected = item;
    try {
      if (item) localStorage.setItem(SELECTED_KEY, item);
      else localStorage.removeItem(SELECTED_KEY);
    } catch {
      // A full storage: the selection is only remembered for this visit.
    }
    this.render();
  }

  notify(message: string, code?: string) {
    const notice = handle("notice");
    say(notice, message, code);
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = window.setTimeout(() => say(notice, ""), NOTICE_MS);
  }

  /** Redraws everything from the replica; cheap enough for a cafeteria's few hundred items. */
  render() {
    const { replica } = this;
    const stock = replica.view("stock");
    const activity = replica.view("activity") ?? [];
    const active = Object.entries(stock).filter(([, row]) => !row.retired);
    if (!this.#selected || !stock[this.#selected]) {
      const first = active.sort(([, a], [, b]) => a.name.localeCompare(b.name))[0];
      this.#selected = first ? first[0] : null;
    }
    renderStatus(replica, this.#lastHeard);
    renderItems(this, stock);
    renderLowStock(this, replica.view("low_stock"));
    renderReorders(this, stock, replica.view("reorders"));
    renderRejected(this, stock);
    renderActivity(this, stock, activity);
    const sites = new Set(DEFAULT_SITES);
    for (const row of Object.values(stock)) for (const site of Object.keys(row.sites)) sites.add(site);
    renderSites([...sites]);
    this.#item.render(stock, activity);
    document.body.dataset.ready = "true";
  }

  #wireAddForm() {
    const form = handle<HTMLFormElement>("add-item-form");
    const name = handle<HTMLInputElement>("add-name");
    const unit = handle<HTMLInputElement>("add-unit");
    const reorder = handle<HTMLInputElement>("add-reorder");
    const error = handle("add-error");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const level = reorder.value.trim() === "" ? 0 : Number(reorder.value);
      if (!Number.isInteger(level) || level < 0) {
        say(error, "The reorder level is a whole number, 0 or more.", "invalid_quantity");
        reorder.focus();
        return;
      }
      const item = newId();
      const command: Command = {
        type: "AddItem",
        data: { item, name: name.value, unit: unit.value.trim(), reorder_level: level },
      };
      if (this.execute(command, error)) {
        name.value = "";
        this.select(item);
        name.focus();
      }
    });
  }

  #wireToolbar() {
    const undo = () => this.#history("undo");
    const redo = () => this.#history("redo");
    handle("undo").addEventListener("click", undo);
    handle("redo").addEventListener("click", redo);
    handle("sync-now").addEventListener("click", () => {
      this.replica.sync().catch((error: unknown) => {
        if (isAnnalsError(error) && error.code === "offline") {
          this.notify("The server cannot be reached. Everything is kept on this device and syncs once the connection is back.", error.code);
        } else {
          this.notify(error instanceof Error ? error.message : String(error), isAnnalsError(error) ? error.code : undefined);
        }
      });
    });
    // Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y), except while typing, where they edit the text.
    addEventListener("keydown", (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest("input:not([type=radio]):not([type=checkbox]):not([type=range]), textarea, select")) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) undo();
      else if ((key === "z" && event.shiftKey) || key === "y") redo();
      else return;
      event.preventDefault();
    });
  }

  #history(which: "undo" | "redo") {
    try {
      if (which === "undo") this.replica.undo();
      else this.replica.redo();
    } catch (error) {
      this.notify(error instanceof Error ? error.message : String(error), isAnnalsError(error) ? error.code : undefined);
    }
  }
}
