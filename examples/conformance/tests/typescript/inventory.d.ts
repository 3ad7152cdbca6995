// The types of the annals domain "inventory", generated from its Rust types. Do not edit.

/** An inventory command; on the wire `{"type": "ConsumeStock", "data": {...}}`. */
export type Command =
  | {
      /** See `AddItem`. */
      type: "AddItem";
      data: AddItem;
    }
  | {
      /** See `RenameItem`. */
      type: "RenameItem";
      data: RenameItem;
    }
  | {
      /** See `ReceiveStock`. */
      type: "ReceiveStock";
      data: ReceiveStock;
    }
  | {
      /** See `ConsumeStock`. */
      type: "ConsumeStock";
      data: ConsumeStock;
    }
  | {
      /** See `CountStock`. */
      type: "CountStock";
      data: CountStock;
    }
  | {
      /** See `RetireItem`. */
      type: "RetireItem";
      data: RetireItem;
    }
  | {
      /** See `RequestReorder`. */
      type: "RequestReorder";
      data: RequestReorder;
    };

/** An inventory event. */
export type Event = InventoryEvent;

/** A stream's decided state (`Domain::State`) as JSON. */
export type State = Item | null;

/**
 * The domain's views by name. `all` is a view's value: its listed rows by key,
 * or the one value of a view that is one (`null` before it has one); `row` is one listed row by
 * key (`never` for a view of one value).
 */
export type Views = {
  stock: { all: Record<string, StockRow>; row: StockRow };
  low_stock: { all: Record<string, StockRow>; row: StockRow };
  activity: { all: ActivityEntry[] | null; row: never };
  history: {
    all: Record<string, Record<string, [number | null, number][]>>;
    row: Record<string, [number | null, number][]>;
  };
  reorders: { all: Record<string, ReorderRow>; row: ReorderRow };
};

/** Why a command is refused. */
export type RejectionCode =
  | "item_exists"
  | "unknown_item"
  | "item_retired"
  | "invalid_name"
  | "invalid_unit"
  | "invalid_site"
  | "invalid_quantity"
  | "name_changed"
  | "stock_changed"
  | "insufficient_stock";

/** The domain's name. */
export type DomainName = "inventory";

/** Start tracking a new item. */
export interface AddItem {
  /** The new item's id, made by the client. */
  item: string;
  /** Its name: trimmed, 1-100 characters. */
  name: string;
  /** What one unit is ("kg", "each"); `each` when absent. */
  unit?: string;
  /** Below this total the item is low on stock; 0 when absent. */
  reorder_level?: number;
}

/** Give an item a new name. */
export interface RenameItem {
  /** The item. */
  item: string;
  /** Its new name: trimmed, 1-100 characters. */
  name: string;
  /**
   * Only if the item is called this now (trimmed); refused with `name_changed` otherwise.
   * An undo sets the name back on this condition, so it never erases another rename.
   */
  from?: string | null;
}

/** Stock arrived at a site. */
export interface ReceiveStock {
  /** The item. */
  item: string;
  /** The site: 1-40 characters. */
  site: string;
  /** How many units arrived: more than 0. */
  qty: number;
  /** A free note, such as a delivery reference. */
  note?: string | null;
}

/** Stock was used at a site. */
export interface ConsumeStock {
  /** The item. */
  item: string;
  /** The site: 1-40 characters. */
  site: string;
  /** How many units were used: more than 0, and no more than the site holds. */
  qty: number;
}

/** A stocktake: the counted quantity replaces what the site held. */
export interface CountStock {
  /** The item. */
  item: string;
  /** The site: 1-40 characters. */
  site: string;
  /** How many units were counted: 0 or more. */
  counted: number;
  /** Only if the site holds this many now; refused with `stock_changed` otherwise. */
  from?: number | null;
}

/** Stop tracking an item; its history stays. */
export interface RetireItem {
  /** The item. */
  item: string;
}

/**
 * Ask for more of an item at a site: issued by the server's reorder reaction when the site's
 * stock falls below the item's reorder level.
 */
export interface RequestReorder {
  /** The item. */
  item: string;
  /** The site: 1-40 characters. */
  site: string;
}

/** An inventory event. */
export type InventoryEvent =
  | {
      /** See `ItemAdded`. */
      type: "ItemAdded";
      data: ItemAdded;
    }
  | {
      /** See `ItemRenamed`. */
      type: "ItemRenamed";
      data: ItemRenamed;
    }
  | {
      /** See `StockReceived`. */
      type: "StockReceived";
      data: StockReceived;
    }
  | {
      /** See `StockConsumed`. */
      type: "StockConsumed";
      data: StockConsumed;
    }
  | {
      /** See `StockCounted`. */
      type: "StockCounted";
      data: StockCounted;
    }
  | {
      /** See `ItemRetired`. */
      type: "ItemRetired";
      data: ItemRetired;
    }
  | {
      /** See `ReorderRequested`. */
      type: "ReorderRequested";
      data: ReorderRequested;
    };

/** An item was added. Schema 2; schema 1 was `{"item_name"}` alone. */
export interface ItemAdded {
  /** The item's name. */
  name: string;
  /** What one unit is. */
  unit: string;
  /** Below this total the item is low on stock. */
  reorder_level: number;
}

/** An item was renamed. */
export interface ItemRenamed {
  /** The new name. */
  name: string;
}

/** Stock arrived at a site. */
export interface StockReceived {
  /** The site. */
  site: string;
  /** Units received. */
  qty: number;
  /** A free note. */
  note?: string | null;
}

/** Stock was used at a site. */
export interface StockConsumed {
  /** The site. */
  site: string;
  /** Units used. */
  qty: number;
}

/** A site's stock was counted; the count replaces what it held. */
export interface StockCounted {
  /** The site. */
  site: string;
  /** Units counted. */
  counted: number;
  /** `counted` minus what the site held before. */
  delta: number;
}

/** An item was retired. */
export type ItemRetired = Record<string, never>;

/** More of an item was asked for at a site. */
export interface ReorderRequested {
  /** The site. */
  site: string;
  /** Units the site held when it was asked. */
  held: number;
  /** The item's reorder level then. */
  reorder_level: number;
}

/** An item's decided state (`None` in `Inventory`'s `State` until it is added). */
export interface Item {
  /** Its name. */
  name: string;
  /** What one unit is. */
  unit: string;
  /** Below this total the item is low on stock. */
  reorder_level: number;
  /** Units held per site. */
  stock: Record<string, number>;
  /** Whether it was retired. */
  retired: boolean;
}

/** One item in `stock`. */
export interface StockRow {
  /** The item's name. */
  name: string;
  /** What one unit is. */
  unit: string;
  /** Below this total the item is low on stock. */
  reorder_level: number;
  /** Units per site. */
  sites: Record<string, number>;
  /** Units over all sites. */
  total: number;
  /** Whether the item was retired. */
  retired: boolean;
}

/** One event in `activity`. */
export interface ActivityEntry {
  /** Its global position (absent while pending). */
  position?: number | null;
  /** The item's id. */
  item: string;
  /** The item stream's version after the event. */
  version: number;
  /** The event. */
  event: InventoryEvent;
  /** Who sent the command. */
  actor: string;
  /** When, in milliseconds since the epoch. */
  at: number;
}

/** The last reorder request for one item at one site, in `reorders`. */
export interface ReorderRow {
  /** The item's id. */
  item: string;
  /** The site. */
  site: string;
  /** Units the site holds: what it held when asked, then moved by the stock recorded since. */
  held: number;
  /** The item's reorder level when asked. */
  reorder_level: number;
  /** The request's global position (absent while pending). */
  requested?: number | null;
}
