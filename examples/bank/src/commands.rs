//! What bank customers ask for.

use annals_core::{Command, Json, Uuid};

/// A bank command; on the wire `{"type": "Deposit", "data": {...}}`.
#[derive(Clone, Debug, PartialEq, Command)]
pub enum BankCommand {
    /// See [`OpenAccount`].
    OpenAccount(OpenAccount),
    /// See [`Deposit`].
    Deposit(Deposit),
    /// See [`Withdraw`].
    Withdraw(Withdraw),
    /// See [`ChangeCreditLine`].
    ChangeCreditLine(ChangeCreditLine),
    /// See [`Transfer`].
    Transfer(Transfer),
    /// See [`CloseAccount`].
    CloseAccount(CloseAccount),
}

/// Open a new account.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct OpenAccount {
    /// The new account's id, made by the client.
    pub account: Uuid,
    /// Who owns it: trimmed, 1-100 characters.
    pub owner: String,
}

/// Put money in.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct Deposit {
    /// The account.
    pub account: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference; empty when absent.
    #[json(default)]
    pub reference: String,
}

/// Take money out, down to the credit line.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct Withdraw {
    /// The account.
    pub account: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference; empty when absent.
    #[json(default)]
    pub reference: String,
}

/// Set how far below zero the balance may go; the new limit replaces the old.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ChangeCreditLine {
    /// The account.
    pub account: Uuid,
    /// Cents, 0 or more.
    pub limit: i64,
    /// Only if the credit line is this now; refused with `credit_line_changed` otherwise. An
    /// undo sets the old limit back on this condition, so it never erases another change.
    pub from: Option<i64>,
}

/// Move money between two accounts, atomically.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct Transfer {
    /// The account the money leaves.
    pub from: Uuid,
    /// The account the money reaches.
    pub to: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference; empty when absent.
    #[json(default)]
    pub reference: String,
}

/// Close an account whose balance is zero.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct CloseAccount {
    /// The account.
    pub account: Uuid,
}
