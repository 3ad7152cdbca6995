// Types of the npm package "annals". Ids are UUID strings, quantities and amounts integers
// (bank amounts in cents), times milliseconds since the Unix epoch.

export type Uuid = string;

// ---------------------------------------------------------------------------------------
// Inventory

export type InventoryCommand =
  | { type: "AddItem"; data: { item: Uuid; name: string; unit?: string; reorder_level?: number } }
  | { type: "RenameItem"; data: { item: Uuid; name: string } }
  | { type: "ReceiveStock"; data: { item: Uuid; site: string; qty: number; note?: string } }
  | { type: "ConsumeStock"; data: { item: Uuid; site: string; qty: number } }
  | { type: "CountStock"; data: { item: Uuid; site: string; counted: number } }
  | { type: "RetireItem"; data: { item: Uuid } };

export type InventoryEvent =
  | { type: "ItemAdded"; data: { name: string; unit: string; reorder_level: number } }
  | { type: "ItemRenamed"; data: { name: string } }
  | { type: "StockReceived"; data: { site: string; qty: number; note?: string } }
  | { type: "StockConsumed"; data: { site: string; qty: number } }
  | { type: "StockCounted"; data: { site: string; counted: number; delta: number } }
  | { type: "ItemRetired"; data: Record<string, never> };

/** A stream `item-<uuid>`: `null` until the item is added. */
export type Item = {
  name: string;
  unit: string;
  reorder_level: number;
  /** Units held per site. */
  stock: Record<string, number>;
  retired: boolean;
} | null;

/** One item in the `stock` and `low_stock` views. */
export interface StockRow {
  name: string;
  unit: string;
  reorder_level: number;
  /** Units per site. */
  sites: Record<string, number>;
  total: number;
  retired: boolean;
}

/** One event in the `activity` view (newest first, at most 200). */
export interface ActivityEntry {
  /** Absent while the event is pending. */
  position?: number;
  item: Uuid;
  version: number;
  event: InventoryEvent;
  actor: string;
  at: number;
}

/** `[position, qty]` after each change of one site; `position` is `null` while pending. */
export type HistoryPoint = [position: number | null, qty: number];

export interface InventoryViews {
  /** Every item, by item id. */
  stock: { all: Record<Uuid, StockRow>; row: StockRow };
  /** The active items whose total is below their reorder level, by item id. */
  low_stock: { all: Record<Uuid, StockRow>; row: StockRow };
  /** The last events, newest first. */
  activity: { all: ActivityEntry[] | null; row: never };
  /** Per item and site, the points of a stock chart. */
  history: { all: Record<Uuid, Record<string, HistoryPoint[]>>; row: Record<string, HistoryPoint[]> };
}

export type InventoryRejectionCode =
  | "item_exists"
  | "invalid_name"
  | "invalid_unit"
  | "invalid_site"
  | "invalid_quantity"
  | "unknown_item"
  | "item_retired"
  | "insufficient_stock";

// ---------------------------------------------------------------------------------------
// Bank

export type BankCommand =
  | { type: "OpenAccount"; data: { account: Uuid; owner: string } }
  | { type: "Deposit"; data: { account: Uuid; amount: number; reference?: string } }
  | { type: "Withdraw"; data: { account: Uuid; amount: number; reference?: string } }
  | { type: "ChangeCreditLine"; data: { account: Uuid; limit: number } }
  | { type: "Transfer"; data: { from: Uuid; to: Uuid; amount: number; reference?: string } }
  | { type: "CloseAccount"; data: { account: Uuid } };

export type BankEvent =
  | { type: "AccountOpened"; data: { owner: string } }
  | { type: "MoneyDeposited"; data: { amount: number; reference: string } }
  | { type: "MoneyWithdrawn"; data: { amount: number; reference: string } }
  | { type: "CreditLineChanged"; data: { limit: number } }
  | { type: "TransferredOut"; data: { to: Uuid; amount: number; reference: string } }
  | { type: "TransferredIn"; data: { from: Uuid; amount: number; reference: string } }
  | { type: "AccountClosed"; data: Record<string, never> };

/** A stream `account-<uuid>`: `null` until the account is opened. */
export type Account = { owner: string; balance: number; limit: number; closed: boolean } | null;

/** One account in the `balances` view. Cents. */
export interface Balance {
  owner: string;
  balance: number;
  limit: number;
  closed: boolean;
}

/** One movement in the `statement` view. Cents; `amount` is negative for money going out. */
export interface StatementLine {
  position?: number;
  version: number;
  kind: "MoneyDeposited" | "MoneyWithdrawn" | "TransferredOut" | "TransferredIn";
  amount: number;
  balance: number;
  reference: string;
  counterparty?: Uuid;
  at: number;
}

export interface BankViews {
  /** Every account, by account id. */
  balances: { all: Record<Uuid, Balance>; row: Balance };
  /** Every account's movements in order, by account id. */
  statement: { all: Record<Uuid, StatementLine[]>; row: StatementLine[] };
}

export type BankRejectionCode =
  | "account_exists"
  | "invalid_owner"
  | "invalid_reference"
  | "invalid_amount"
  | "unknown_account"
  | "account_closed"
  | "insufficient_funds"
  | "same_account"
  | "nonzero_balance";

// ---------------------------------------------------------------------------------------
// Domains

export interface Domains {
  inventory: {
    command: InventoryCommand;
    event: InventoryEvent;
    state: Item;
    views: InventoryViews;
    rejection: InventoryRejectionCode;
  };
  bank: {
    command: BankCommand;
    event: BankEvent;
    state: Account;
    views: BankViews;
    rejection: BankRejectionCode;
  };
}

export type DomainName = keyof Domains;

// ---------------------------------------------------------------------------------------
// Errors

/** Why an undo or redo cannot run, or why a command or value was not understood. */
export type EngineErrorCode =
  | "nothing_to_undo"
  | "not_undoable"
  | "nothing_to_redo"
  | "invalid_command"
  | "unknown_command_type"
  | "invalid_json"
  | "invalid_id"
  | "invalid_event"
  | "unknown_event_type"
  | "unsupported_schema"
  | "unknown_view"
  | "history_unavailable"
  | "gap"
  | "undeclared_stream";

/** Why storage or the replica itself failed. */
export type StorageErrorCode =
  | "storage_full"
  | "storage_unavailable"
  | "corrupt_entry"
  | "wrong_domain"
  | "unknown_domain"
  | "invalid_option"
  | "closed";

/** Why talking to the server failed (HTTP errors keep the server's code, e.g. `unauthorized`). */
export type SyncErrorCode =
  | "offline"
  | "no_server"
  | "protocol_error"
  | "unauthorized"
  | "forbidden"
  | "wrong_expected_version"
  | `http_${number}`;

export type ErrorCode =
  | InventoryRejectionCode
  | BankRejectionCode
  | EngineErrorCode
  | StorageErrorCode
  | SyncErrorCode;

/** Every error the package throws: an `Error` named "AnnalsError" with a stable `code`. */
export declare class AnnalsError<C extends string = ErrorCode> extends Error {
  constructor(code: C, message: string, details?: { status?: number });
  readonly name: "AnnalsError";
  readonly code: C;
  /** For HTTP failures, the response status. */
  readonly details?: { status?: number };
}

export declare function isAnnalsError(value: unknown): value is AnnalsError;

// ---------------------------------------------------------------------------------------
// The replica

/** A recorded or optimistic event. `position` is absent until the server records it. */
export interface Envelope<E> {
  id: Uuid;
  stream: string;
  version: number;
  position?: number;
  type: E extends { type: infer T } ? T : string;
  schema: number;
  data: E extends { data: infer D } ? D : unknown;
  meta: { command: Uuid; actor: string; at: number; correlation?: Uuid; causation?: Uuid; fields?: Record<string, unknown> };
}

/** Envelopes of a domain's events, one per event type, so `type` narrows `data`. */
export type EnvelopeOf<E> = E extends unknown ? Envelope<E> : never;

export type Status = "pending" | "accepted" | "rejected";

export interface Outcome<E> {
  id: Uuid;
  status: Status;
  events: EnvelopeOf<E>[];
}

export interface PendingCommand<C, E> {
  id: Uuid;
  command: C;
  at: number;
  events: EnvelopeOf<E>[];
}

export interface RejectedCommand<C, R extends string> {
  id: Uuid;
  command: C;
  /** The rule that refused it, or a code of the server (e.g. `wrong_expected_version`). */
  code: R | EngineErrorCode | "wrong_expected_version";
  message: string;
}

export interface StreamState<S> {
  stream: string;
  version: number;
  state: S;
}

export interface Summary {
  position: number;
  pending: number;
  rejected: number;
  canUndo: boolean;
  canRedo: boolean;
}

export interface SyncState {
  /** `null` before the first attempt. */
  online: boolean | null;
  syncing: boolean;
  /** Whether this replica keeps a live connection (one tab per key does). */
  live: boolean;
  lastSync: number | null;
  error: { code: ErrorCode; message: string } | null;
}

export interface Change {
  /** `local`: a command here; `remote`: the server or another tab; `status`: sync state. */
  source: "local" | "remote" | "status";
  accepted?: Uuid[];
  rejected?: Uuid[];
  error?: AnnalsError;
}

export interface OpenWarning {
  code: "corrupt_entry" | "state_rebuilt" | "storage_full";
  message: string;
  /** For `corrupt_entry`, the key the unreadable entry was moved to. */
  key?: string;
}

/** What a caller may attach to a command; it is kept in the meta of every event it produces. */
export interface Attached {
  /** The id shared by every command of one conversation or workflow. */
  correlation?: Uuid;
  /** The id of the command or event that caused this one. */
  causation?: Uuid;
  /** Fields of the app's own. */
  fields?: Record<string, unknown>;
}

export type CommandOf<D extends DomainName> = Domains[D]["command"] & { id?: Uuid; meta?: Attached };

export interface Replica<D extends DomainName> {
  readonly domain: D;
  readonly key: string;
  /** The server position the confirmed state reflects. */
  readonly position: number;

  /**
   * Runs a command at once against the optimistic state and stores it. Throws an
   * `AnnalsError` with the rule's code (e.g. `insufficient_stock`), or `storage_full`, and
   * then nothing changed. An `id` may be given (a UUID); running an id again returns what the
   * first run did.
   */
  execute(command: CommandOf<D>): Outcome<Domains[D]["event"]>;
  undo(): Outcome<Domains[D]["event"]>;
  redo(): Outcome<Domains[D]["event"]>;

  view<V extends keyof Domains[D]["views"]>(
    name: V,
  ): Domains[D]["views"][V] extends { all: infer A } ? A : never;
  view<V extends keyof Domains[D]["views"]>(
    name: V,
    key: Uuid,
  ): (Domains[D]["views"][V] extends { row: infer R } ? R : never) | null;

  stream(name: string): StreamState<Domains[D]["state"]>;
  /** Throws `history_unavailable` when the stream's early events are no longer held here. */
  stateAt(name: string, version: number): StreamState<Domains[D]["state"]>;

  pending(): PendingCommand<Domains[D]["command"], Domains[D]["event"]>[];
  rejected(): RejectedCommand<Domains[D]["command"], Domains[D]["rejection"]>[];
  dismiss(id: Uuid): boolean;
  status(id: Uuid): Status | undefined;
  summary(): Summary;

  /** Pushes pending commands, pulls the log to the server's head and rebases. */
  sync(): Promise<void>;
  /** `null` without a server. */
  syncState(): SyncState | null;
  /** What opening had to report, such as an unreadable entry moved aside. */
  openWarnings(): OpenWarning[];

  subscribe(listener: (change: Change) => void): () => void;
  close(): void;
}

export interface OpenOptions<D extends DomainName> {
  domain: D;
  /** `local` keeps the replica in localStorage (browsers); `memory` keeps it nowhere. */
  storage?: "local" | "memory";
  /** The localStorage key; `annals/<domain>` by default. */
  key?: string;
  /**
   * The annals-server to sync with; `live: false` syncs only when `sync()` is called.
   * `heartbeat` is how often, in milliseconds, the server writes to an idle live connection
   * (15000 by default, annals-server's interval): a connection silent for two and a half of
   * these (two heartbeats missed) is dropped and opened again after the replica's position.
   */
  server?: { url: string; token?: string; live?: boolean; heartbeat?: number };
  /** Who runs the commands (the server records its own token subject). */
  actor?: string;
}

export declare function open<D extends DomainName>(options: OpenOptions<D>): Promise<Replica<D>>;
