// annals' runtime types, the same in every package; each package's index.d.ts types them by
// its domain (generated from the Rust code by `cargo annals pack`). Ids are UUID strings,
// times milliseconds since the Unix epoch.

export type Uuid = string;

/** What a package's domain is made of, as TypeScript types. */
export interface Domain<
  Name extends string = string,
  Command extends { type: string } = { type: string; data?: unknown },
  Event extends { type: string } = { type: string; data?: unknown },
  State = unknown,
  Views extends { [name: string]: { all: unknown; row: unknown } } = {
    [name: string]: { all: unknown; row: unknown };
  },
  Rejection extends string = string,
> {
  name: Name;
  command: Command;
  event: Event;
  state: State;
  views: Views;
  rejection: Rejection;
}

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
  | "unknown_command"
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
  /** The command's fate on the server: see `ReplicaOf.settled`. */
  readonly settled: Promise<Accepted>;
}

/** What `settled` resolves to: the server accepted the command. */
export interface Accepted {
  id: Uuid;
  status: "accepted";
}

/**
 * A view or one of its rows, to read and to follow. `get()` hands back the same object while
 * the value is unchanged; listeners are called only when it changed. Both are bound, so they
 * can be passed as they are: `useSyncExternalStore(watch.subscribe, watch.get)`.
 */
export interface Watch<T> {
  readonly get: () => T;
  readonly subscribe: (listener: (value: T) => void) => () => void;
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
  code: "corrupt_entry" | "state_rebuilt" | "storage_full" | "rejected_dropped" | "confirmed_unsaved";
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

/** A command of the domain `D`, with an optional id and what the caller attaches. */
export type CommandOf<D extends Domain> = D["command"] & { id?: Uuid; meta?: Attached };

/** A replica of the domain `D`: each package exports `Replica` as this, typed by its domain. */
export interface ReplicaOf<D extends Domain> {
  /** The domain's name. */
  readonly domain: D["name"];
  /** The localStorage key it is kept under (`annals/<domain>` unless given). */
  readonly key: string;
  /** The server position the confirmed state reflects. */
  readonly position: number;

  /**
   * Runs a command at once against the optimistic state and stores it. Throws an
   * `AnnalsError` with the rule's code, or `storage_full`, and then nothing changed. An `id`
   * may be given (a UUID); running an id again returns what the first run did.
   */
  execute(command: CommandOf<D>): Outcome<D["event"]>;
  undo(): Outcome<D["event"]>;
  redo(): Outcome<D["event"]>;

  /**
   * Resolves once the server has accepted the command; rejects with an `AnnalsError` of the
   * rule's code once it is rejected (by the server, or by a rebase on the server's events),
   * with `closed` if the replica is closed first, or with `unknown_command`.
   */
  settled(id: Uuid): Promise<Accepted>;

  /** A view to read and follow: see `Watch`. */
  watch<V extends keyof D["views"] & string>(name: V): Watch<D["views"][V]["all"]>;
  /** One row of a view (`null` while absent) to read and follow: see `Watch`. */
  watch<V extends keyof D["views"] & string>(name: V, key: string): Watch<D["views"][V]["row"] | null>;

  view<V extends keyof D["views"] & string>(name: V): D["views"][V]["all"];
  view<V extends keyof D["views"] & string>(name: V, key: string): D["views"][V]["row"] | null;

  stream(name: string): StreamState<D["state"]>;
  /** Throws `history_unavailable` when the stream's early events are no longer held here. */
  stateAt(name: string, version: number): StreamState<D["state"]>;

  pending(): PendingCommand<D["command"], D["event"]>[];
  rejected(): RejectedCommand<D["command"], D["rejection"]>[];
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

export interface OpenOptions {
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
