// What the screen says about events, commands, quantities and times, in plain words.

import type { Command, Event, StockRow, Uuid } from "annals-inventory";

/** The sites every cafeteria starts with; any other name can be typed in. */
export const DEFAULT_SITES = ["crossroads", "hilltop", "riverside"];

/** How to name an item: its current name, or a short id if it is unknown here. */
export type NameOf = (item: Uuid) => string;

export function nameLookup(stock: Record<Uuid, StockRow>): NameOf {
  return (item) => stock[item]?.name ?? `item ${item.slice(0, 8)}`;
}

/** "3 kg", "1 pcs", or "3" when the unit is unknown. */
export function amount(qty: number, unit: string | undefined): string {
  return unit ? `${qty} ${unit}` : String(qty);
}

/** One event of `item`, as a sentence. */
export function describeEvent(event: Event, name: string, unit?: string): string {
  switch (event.type) {
    case "ItemAdded":
      return `Added ${event.data.name} (${event.data.unit || "no unit"}, reorder below ${event.data.reorder_level})`;
    case "ItemRenamed":
      return `Renamed to ${event.data.name}`;
    case "StockReceived":
      return `Received ${amount(event.data.qty, unit)} of ${name} at ${event.data.site}` +
        (event.data.note ? ` — “${event.data.note}”` : "");
    case "StockConsumed":
      return `Used ${amount(event.data.qty, unit)} of ${name} at ${event.data.site}`;
    case "StockCounted": {
      const { counted, delta, site } = event.data;
      const change = delta === 0 ? "no change" : delta > 0 ? `+${delta}` : `${delta}`;
      return `Counted ${amount(counted, unit)} of ${name} at ${site} (${change})`;
    }
    case "ItemRetired":
      return `Retired ${name}`;
    case "ReorderRequested": {
      const { site, held, reorder_level } = event.data;
      return `Asked for more ${name} at ${site} (${amount(held, unit)} held, reorder below ${reorder_level})`;
    }
  }
}

/** A command that was refused, as a sentence. */
export function describeCommand(command: Command, nameOf: NameOf, unitOf: (item: Uuid) => string | undefined): string {
  const name = nameOf(command.data.item);
  const unit = unitOf(command.data.item);
  switch (command.type) {
    case "AddItem":
      return `Add ${command.data.name}`;
    case "RenameItem":
      return `Rename ${name} to ${command.data.name}`;
    case "ReceiveStock":
      return `Receive ${amount(command.data.qty, unit)} of ${name} at ${command.data.site}`;
    case "ConsumeStock":
      return `Use ${amount(command.data.qty, unit)} of ${name} at ${command.data.site}`;
    case "CountStock":
      return `Count ${amount(command.data.counted, unit)} of ${name} at ${command.data.site}`;
    case "RetireItem":
      return `Retire ${name}`;
    case "RequestReorder":
      return `Ask for more ${name} at ${command.data.site}`;
  }
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** A time of day today, or a date and time for older moments. */
export function when(at: number, now = Date.now()): string {
  const date = new Date(at);
  return new Date(now).toDateString() === date.toDateString() ? clock.format(date) : day.format(date);
}

/** "crossroads 4 · hilltop 0". */
export function bySite(sites: Record<string, number>, unit?: string): string {
  const parts = Object.entries(sites).map(([site, qty]) => `${site} ${amount(qty, unit)}`);
  return parts.length ? parts.join(" · ") : "no stock recorded";
}
