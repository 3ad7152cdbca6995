// The selected item: its summary, the form that records stock received, used or counted at a
// site, its stock-over-time chart, its state at an earlier version (time travel), renaming and
// retiring.

import type { ActivityEntry, Command, StockRow, Uuid } from "annals-inventory";
import { type ChartInput, drawChart } from "./chart";
import type { Context } from "./context";
import { h, handle, refill, region, say } from "./dom";
import { amount, bySite, describeEvent } from "./words";

type Action = "receive" | "consume" | "count";

const QTY_LABEL: Record<Action, string> = {
  receive: "Quantity received",
  consume: "Quantity used",
  count: "Quantity on the shelf",
};

export class ItemPanel {
  #context: Context;
  /** The version shown in "Back in time"; `null` follows the latest. */
  #version: number | null = null;
  #shownItem: Uuid | null = null;
  /** What the chart last drew, to draw it again at a new width. */
  #chart: ChartInput | null = null;

  constructor(context: Context) {
    this.#context = context;
    handle<HTMLSelectElement>("item-select").addEventListener("change", (event) => {
      const value = (event.target as HTMLSelectElement).value;
      context.select(value || null);
    });
    const figure = handle("stock-chart");
    let width = 0;
    new ResizeObserver(() => {
      if (!this.#chart || figure.clientWidth === width) return;
      width = figure.clientWidth;
      drawChart(figure, this.#chart);
    }).observe(figure);
    this.#wireStockForm();
    this.#wireRename();
    this.#wireRetire();
    handle<HTMLInputElement>("version-slider").addEventListener("input", (event) => {
      const slider = event.target as HTMLInputElement;
      const value = Number(slider.value);
      this.#version = value >= Number(slider.max) ? null : value;
      this.render(this.#context.replica.view("stock"), this.#context.replica.view("activity") ?? []);
    });
  }

  render(stock: Record<Uuid, StockRow>, activity: ActivityEntry[]) {
    const item = this.#context.selected();
    const row = item ? stock[item] : undefined;
    this.#renderSelect(stock, item);
    region("item-none").hidden = Boolean(row);
    region("item-detail").hidden = !row;
    if (!item || !row) return;
    if (item !== this.#shownItem) {
      this.#shownItem = item;
      this.#version = null;
      say(handle("stock-error"), "");
      say(handle("rename-error"), "");
      region("retire-confirm").hidden = true;
    }

    const low = !row.retired && row.total < row.reorder_level;
    refill(handle("item-summary"), [
      h("strong", {}, row.name),
      ` — ${amount(row.total, row.unit)} in all`,
      row.total > 0 || Object.keys(row.sites).length ? `: ${bySite(row.sites)}` : "",
      `. Reorder below ${row.reorder_level}.`,
      low ? h("span", { class: "badge warn" }, "low") : null,
      row.retired ? h("span", { class: "badge muted" }, "retired") : null,
    ]);
    for (const control of handle("stock-form").querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")) {
      control.disabled = row.retired;
    }
    for (const control of handle("rename-form").querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")) {
      control.disabled = row.retired;
    }
    handle<HTMLButtonElement>("retire").disabled = row.retired;
    handle<HTMLInputElement>("rename-name").placeholder = row.name;
    region("retire-name").textContent = row.name;

    const { latest, version } = this.#travel(item);
    const chosen = version < latest ? activity.find((e) => e.item === item && e.version === version) : undefined;
    this.#chart = {
      name: row.name,
      unit: row.unit,
      reorderLevel: row.reorder_level,
      history: this.#context.replica.view("history", item) ?? {},
      marker: chosen?.position ? { position: chosen.position, label: `version ${version}` } : undefined,
    };
    drawChart(handle("stock-chart"), this.#chart);
    this.#renderTravel(item, latest, version, activity);
  }

  /** The item's latest version, and the one "Back in time" shows. */
  #travel(item: Uuid): { latest: number; version: number } {
    const latest = this.#context.replica.stream(`item-${item}`).version;
    if (this.#version !== null && this.#version > latest) this.#version = null;
    return { latest, version: this.#version ?? latest };
  }

  #renderSelect(stock: Record<Uuid, StockRow>, item: Uuid | null) {
    const select = handle<HTMLSelectElement>("item-select");
    const options = Object.entries(stock)
      .filter(([id, row]) => !row.retired || id === item)
      .sort(([, a], [, b]) => a.name.localeCompare(b.name))
      .map(([id, row]) => h("option", { value: id }, row.retired ? `${row.name} (retired)` : row.name));
    const focused = document.activeElement === select;
    select.replaceChildren(h("option", { value: "" }, options.length ? "Choose an item…" : "No items yet"), ...options);
    select.value = item && stock[item] ? item : "";
    if (focused) select.focus();
  }

  // Time travel: the item's state after any of its versions, through `stateAt`.
  #renderTravel(item: Uuid, latest: number, version: number, activity: ActivityEntry[]) {
    const { replica } = this.#context;
    const stream = `item-${item}`;
    const slider = handle<HTMLInputElement>("version-slider");
    slider.max = String(latest);
    slider.value = String(version);
    slider.disabled = latest <= 1;
    slider.setAttribute("aria-valuetext", `version ${version} of ${latest}`);
    handle("version-label").textContent = `${version} of ${latest}${version === latest ? " (now)" : ""}`;

    const target = handle("state-at");
    target.dataset.version = String(version);
    let state;
    try {
      state = replica.stateAt(stream, version).state;
    } catch (error) {
      refill(target, [h("p", { class: "empty" }, error instanceof Error ? error.message : String(error))]);
      return;
    }
    if (!state) {
      refill(target, [h("p", { class: "empty" }, "The item did not exist yet.")]);
      return;
    }
    const total = Object.values(state.stock).reduce((sum, qty) => sum + qty, 0);
    const entry = activity.find((e) => e.item === item && e.version === version);
    refill(target, [
      entry ? h("p", { class: "travel-event" }, `After: ${describeEvent(entry.event, state.name, state.unit)}`) : null,
      h(
        "dl",
        { class: "travel-state" },
        h("dt", {}, "Name"),
        h("dd", { "data-testid": "state-at-name" }, state.name, state.retired ? " (retired)" : ""),
        h("dt", {}, "By site"),
        h("dd", { "data-testid": "state-at-sites" }, bySite(state.stock, state.unit)),
        h("dt", {}, "Total"),
        h("dd", { "data-testid": "state-at-total" }, amount(total, state.unit)),
      ),
    ]);
  }

  #wireStockForm() {
    const form = handle<HTMLFormElement>("stock-form");
    const qty = handle<HTMLInputElement>("stock-qty");
    const site = handle<HTMLInputElement>("stock-site");
    const note = handle<HTMLInputElement>("stock-note");
    const error = handle("stock-error");
    const action = () => (new FormData(form).get("action") as Action | null) ?? "receive";
    const relabel = () => {
      const chosen = action();
      region("qty-label").textContent = QTY_LABEL[chosen];
      qty.min = chosen === "count" ? "0" : "1";
      region("note-field").hidden = chosen !== "receive";
    };
    form.addEventListener("change", (event) => {
      if ((event.target as HTMLInputElement).name === "action") relabel();
    });
    relabel();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const item = this.#context.selected();
      if (!item) return;
      const siteName = site.value.trim();
      const number = Number(qty.value);
      if (!siteName) return say(error, "Name the site.", "invalid_site"), site.focus();
      if (qty.value.trim() === "" || !Number.isInteger(number)) {
        return say(error, "Enter a whole number.", "invalid_quantity"), qty.focus();
      }
      let command: Command;
      switch (action()) {
        case "receive":
          command = { type: "ReceiveStock", data: { item, site: siteName, qty: number, ...(note.value.trim() ? { note: note.value.trim() } : {}) } };
          break;
        case "consume":
          command = { type: "ConsumeStock", data: { item, site: siteName, qty: number } };
          break;
        case "count":
          command = { type: "CountStock", data: { item, site: siteName, counted: number } };
          break;
      }
      if (this.#context.execute(command, error)) {
        qty.value = "";
        note.value = "";
        qty.focus();
      }
    });
  }

  #wireRename() {
    const form = handle<HTMLFormElement>("rename-form");
    const name = handle<HTMLInputElement>("rename-name");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const item = this.#context.selected();
      if (!item) return;
      if (this.#context.execute({ type: "RenameItem", data: { item, name: name.value } }, handle("rename-error"))) {
        name.value = "";
      }
    });
  }

  #wireRetire() {
    const confirm = region("retire-confirm");
    const open = handle<HTMLButtonElement>("retire");
    open.addEventListener("click", () => {
      confirm.hidden = false;
      handle("retire-cancel").focus();
    });
    handle("retire-cancel").addEventListener("click", () => {
      confirm.hidden = true;
      open.focus();
    });
    handle("retire-confirm").addEventListener("click", () => {
      const item = this.#context.selected();
      confirm.hidden = true;
      if (item) this.#context.execute({ type: "RetireItem", data: { item } });
    });
  }
}
