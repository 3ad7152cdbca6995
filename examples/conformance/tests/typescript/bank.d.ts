// The types of the annals domain "bank", generated from its Rust types. Do not edit.

/** A bank command; on the wire `{"type": "Deposit", "data": {...}}`. */
export type Command =
  | {
      /** See `OpenAccount`. */
      type: "OpenAccount";
      data: OpenAccount;
    }
  | {
      /** See `Deposit`. */
      type: "Deposit";
      data: Deposit;
    }
  | {
      /** See `Withdraw`. */
      type: "Withdraw";
      data: Withdraw;
    }
  | {
      /** See `ChangeCreditLine`. */
      type: "ChangeCreditLine";
      data: ChangeCreditLine;
    }
  | {
      /** See `Transfer`. */
      type: "Transfer";
      data: Transfer;
    }
  | {
      /** See `CloseAccount`. */
      type: "CloseAccount";
      data: CloseAccount;
    };

/** A bank event. */
export type Event =
  | {
      /** See `AccountOpened`. */
      type: "AccountOpened";
      data: AccountOpened;
    }
  | {
      /** See `MoneyDeposited`. */
      type: "MoneyDeposited";
      data: MoneyDeposited;
    }
  | {
      /** See `MoneyWithdrawn`. */
      type: "MoneyWithdrawn";
      data: MoneyWithdrawn;
    }
  | {
      /** See `CreditLineChanged`. */
      type: "CreditLineChanged";
      data: CreditLineChanged;
    }
  | {
      /** See `TransferredOut`. */
      type: "TransferredOut";
      data: TransferredOut;
    }
  | {
      /** See `TransferredIn`. */
      type: "TransferredIn";
      data: TransferredIn;
    }
  | {
      /** See `AccountClosed`. */
      type: "AccountClosed";
      data: AccountClosed;
    };

/** A stream's decided state (`Domain::State`) as JSON. */
export type State = Account | null;

/**
 * The domain's views by name. `all` is a view's value: its listed rows by key,
 * or the one value of a view that is one (`null` before it has one); `row` is one listed row by
 * key (`never` for a view of one value).
 */
export type Views = {
  balances: { all: Record<string, Balance>; row: Balance };
  statement: { all: Record<string, StatementLine[]>; row: StatementLine[] };
};

/** Why a command is refused. */
export type RejectionCode =
  | "account_exists"
  | "unknown_account"
  | "account_closed"
  | "invalid_owner"
  | "invalid_amount"
  | "insufficient_funds"
  | "credit_line_changed"
  | "same_account"
  | "nonzero_balance"
  | "invalid_reference";

/** The domain's name. */
export type DomainName = "bank";

/** Open a new account. */
export interface OpenAccount {
  /** The new account's id, made by the client. */
  account: string;
  /** Who owns it: trimmed, 1-100 characters. */
  owner: string;
}

/** Put money in. */
export interface Deposit {
  /** The account. */
  account: string;
  /** Cents, more than 0. */
  amount: number;
  /** A free reference; empty when absent. */
  reference?: string;
}

/** Take money out, down to the credit line. */
export interface Withdraw {
  /** The account. */
  account: string;
  /** Cents, more than 0. */
  amount: number;
  /** A free reference; empty when absent. */
  reference?: string;
}

/** Set how far below zero the balance may go; the new limit replaces the old. */
export interface ChangeCreditLine {
  /** The account. */
  account: string;
  /** Cents, 0 or more. */
  limit: number;
  /**
   * Only if the credit line is this now; refused with `credit_line_changed` otherwise. An
   * undo sets the old limit back on this condition, so it never erases another change.
   */
  from?: number | null;
}

/** Move money between two accounts, atomically. */
export interface Transfer {
  /** The account the money leaves. */
  from: string;
  /** The account the money reaches. */
  to: string;
  /** Cents, more than 0. */
  amount: number;
  /** A free reference; empty when absent. */
  reference?: string;
}

/** Close an account whose balance is zero. */
export interface CloseAccount {
  /** The account. */
  account: string;
}

/** An account was opened. */
export interface AccountOpened {
  /** Who owns it. */
  owner: string;
}

/** Money was put in. */
export interface MoneyDeposited {
  /** Cents. */
  amount: number;
  /** The free reference. */
  reference: string;
}

/** Money was taken out. */
export interface MoneyWithdrawn {
  /** Cents. */
  amount: number;
  /** The free reference. */
  reference: string;
}

/** The credit line was set. */
export interface CreditLineChanged {
  /** Cents the balance may go below zero. */
  limit: number;
}

/** Money left for another account. */
export interface TransferredOut {
  /** The receiving account. */
  to: string;
  /** Cents. */
  amount: number;
  /** The free reference. */
  reference: string;
}

/** Money arrived from another account. */
export interface TransferredIn {
  /** The sending account. */
  from: string;
  /** Cents. */
  amount: number;
  /** The free reference. */
  reference: string;
}

/** The account was closed. */
export type AccountClosed = Record<string, never>;

/** An account's decided state (`None` in `Bank`'s `State` until it is opened). */
export interface Account {
  /** Who owns it. */
  owner: string;
  /** Cents; below zero down to `-limit`. */
  balance: number;
  /** Cents the balance may go below zero. */
  limit: number;
  /** Whether it was closed. */
  closed: boolean;
}

/** One account in `balances`. */
export interface Balance {
  /** Who owns it. */
  owner: string;
  /** Cents. */
  balance: number;
  /** Cents the balance may go below zero. */
  limit: number;
  /** Whether it was closed. */
  closed: boolean;
}

/** One movement in `statement`. */
export interface StatementLine {
  /** Its global position (absent while pending). */
  position?: number | null;
  /** The account stream's version after it. */
  version: number;
  /** The event type, e.g. `MoneyDeposited`. */
  kind: string;
  /** Cents in (positive) or out (negative). */
  amount: number;
  /** The balance after it. */
  balance: number;
  /** The free reference. */
  reference: string;
  /** The other account of a transfer. */
  counterparty?: string | null;
  /** When, in milliseconds since the epoch. */
  at: number;
}
