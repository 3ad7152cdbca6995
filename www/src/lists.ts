// The lists of the page: every item with its stock per site, the low-stock list, the open
// reorder requests, the commands the server refused (with its reasons), and the activity feed.

import type { ActivityEntry, ReorderRow, StockRow, Uuid } from "annals-inventory";
import type { Context } from "./context";
import { h, handle, refill, region } from "./dom";
import { amount, describeCommand, describeEvent, nameLookup, when } from "./words";

/** How many activity entries show at first, and how many more each "Show older" adds. */
const ACTIVITY_PAGE = 10;
let activityShown = ACTIVITY_PAGE;

function byName([, a]: [Uuid, StockRow], [, b]: [Uuid, StockRow]) {
  return a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
}

export function renderItems(context: Context, stock: Record<Uuid, StockRow>) {
  const showRetired = handle<HTMLInputElement>("show-retired").checked;
  const selected = context.selected();
  const rows = Object.entries(stock)
    .filter(([, row]) => showRetired || !row.retired)
    .sort(byName)
    .map(([item, row]) => {
      const low = !row.retired && row.total < row.reorder_level;
      return h(
        "tr",
        {
          "data-testid": "item-row",
          "data-item": item,
          class: [item === selected && "selected", low && "low", row.retired && "retired"].filter(Boolean).join(" "),
        },
        h(
          "th",
          { scope: "row" },
          h(
            "button",
            {
              type: "button",
              class: "link",
              "data-key": `item-${item}`,
              "data-testid": "item-name",
              "aria-current": item === selected ? "true" : null,
              onclick: () => context.select(item),
            },
            row.name,
          ),
          row.retired ? h("span", { class: "badge muted" }, "retired") : null,
          low ? h("span", { class: "badge warn" }, "low") : null,
        ),
        h(
          "td",
          { "data-testid": "item-sites" },
          ...Object.entries(row.sites).map(([site, qty]) =>
            h("span", { class: qty === 0 ? "chip empty-chip" : "chip", "data-site": site }, `${site} `, h("b", {}, qty)),
          ),
        ),
        h("td", { class: "num", "data-testid": "item-total" }, h("b", {}, row.total), ` ${row.unit}`),
        h("td", { class: "num" }, row.reorder_level),
      );
    });
  refill(region("items"), rows);
  region("items-empty").hidden = rows.length > 0;
}

export function renderLowStock(context: Context, low: Record<Uuid, StockRow>) {
  const entries = Object.entries(low).sort(byName);
  refill(
    region("low"),
    entries.map(([item, row]) =>
      h(
        "li",
        { "data-testid": "low-stock-item", "data-item": item },
        h("button", { type: "button", class: "link", "data-key": `low-${item}`, onclick: () => context.select(item) }, row.name),
        h("span", { class: "low-qty" }, `${amount(row.total, row.unit)} left`, h("small", {}, ` · reorder below ${row.reorder_level}`)),
      ),
    ),
  );
  region("low-empty").hidden = entries.length > 0;
}

/**
 * The open reorder requests (the `reorders` view lists those whose site still holds less than
 * the reorder level), by item name and site; a retired item's requests leave the list with it.
 */
export function renderReorders(context: Context, stock: Record<Uuid, StockRow>, reorders: Record<string, ReorderRow>) {
  const nameOf = nameLookup(stock);
  const entries = Object.entries(reorders)
    .filter(([, row]) => !stock[row.item]?.retired)
    .sort(([, a], [, b]) =>
      nameOf(a.item).localeCompare(nameOf(b.item), undefined, { sensitivity: "base" }) || a.site.localeCompare(b.site),
    );
  refill(
    region("reorders"),
    entries.map(([key, row]) =>
      h(
        "li",
        { "data-testid": "reorder-request", "data-item": row.item, "data-site": row.site },
        h(
          "button",
          { type: "button", class: "link", "data-key": `reorder-${key}`, onclick: () => context.select(row.item) },
          nameOf(row.item),
          h("small", {}, ` at ${row.site}`),
        ),
        h(
          "span",
          { class: "low-qty" },
          `${amount(row.held, stock[row.item]?.unit)} held`,
          h("small", {}, ` · reorder below ${row.reorder_level}`),
        ),
      ),
    ),
  );
  region("reorders-empty").hidden = entries.length > 0;
}

export function renderRejected(context: Context, stock: Record<Uuid, StockRow>) {
  const rejected = context.replica.rejected();
  const nameOf = nameLookup(stock);
  const unitOf = (item: Uuid) => stock[item]?.unit;
  const panel = handle("rejected-panel");
  panel.dataset.count = String(rejected.length);
  refill(
    region("rejected"),
    rejected.map((entry) =>
      h(
        "li",
        { "data-testid": "rejected-item", "data-code": entry.code, "data-id": entry.id },
        h("p", { class: "rejected-what" }, describeCommand(entry.command, nameOf, unitOf)),
        h("p", { class: "rejected-why" }, h("span", { "data-testid": "rejected-message" }, entry.message)),
        h(
          "p",
          { class: "rejected-foot" },
          h("code", { "data-testid": "rejected-code" }, entry.code),
          h(
            "button",
            {
              type: "button",
              class: "quiet small",
              "data-key": `dismiss-${entry.id}`,
              "data-testid": "dismiss",
              "aria-label": `Dismiss: ${describeCommand(entry.command, nameOf, unitOf)}`,
              onclick: () => {
                context.replica.dismiss(entry.id);
                if (context.replica.rejected().length === 0) handle("rejected-panel").querySelector("h2")?.focus();
              },
            },
            "Dismiss",
          ),
        ),
      ),
    ),
  );
  region("rejected-empty").hidden = rejected.length > 0;
}

export function renderActivity(context: Context, stock: Record<Uuid, StockRow>, activity: ActivityEntry[]) {
  const nameOf = nameLookup(stock);
  const shown = activity.slice(0, activityShown);
  refill(
    region("activity"),
    shown.map((entry) =>
      h(
        "li",
        {
          "data-testid": "activity-entry",
          "data-type": entry.event.type,
          "data-pending": entry.position === undefined ? "true" : "false",
        },
        h(
          "button",
          { type: "button", class: "link plain", "data-key": `act-${entry.item}-${entry.version}`, onclick: () => context.select(entry.item) },
          describeEvent(entry.event, nameOf(entry.item), stock[entry.item]?.unit),
        ),
        h(
          "span",
          { class: "meta" },
          when(entry.at),
          " · ",
          entry.position === undefined ? h("span", { class: "badge pending" }, "waiting to sync") : `#${entry.position}`,
        ),
      ),
    ),
  );
  region("activity-empty").hidden = shown.length > 0;
  const more = handle<HTMLButtonElement>("activity-more");
  more.hidden = activity.length <= shown.length;
  more.textContent = `Show older (${activity.length - shown.length} more)`;
  more.onclick = () => {
    activityShown += 2 * ACTIVITY_PAGE;
    context.render();
  };
}

/** The site names to offer: the defaults and every site with stock recorded. */
export function renderSites(sites: string[]) {
  const list = document.getElementById("sites");
  if (list) refill(list, sites.map((site) => h("option", { value: site })));
}
