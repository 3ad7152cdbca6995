//! What bank customers ask for.

use annals_core::Uuid;

use annals_core::commands;

commands! {
    /// A bank command; on the wire `{"type": "Deposit", "data": {...}}`.
    pub enum BankCommand {
        OpenAccount,
        Deposit,
        Withdraw,
        ChangeCreditLine,
        Transfer,
        CloseAccount,
    }
}

/// Open a new account.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenAccount {
    /// The new account's id, made by the client.
    pub account: Uuid,
    /// Who owns it: trimmed, 1-100 characters.
    pub owner: String,
}

annals_core::json_struct!(OpenAccount { account, owner });

/// Put money in.
#[derive(Clone, Debug, PartialEq)]
pub struct Deposit {
    /// The account.
    pub account: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference.
    pub reference: String,
}

annals_core::json_struct!(Deposit { account, amount, reference = Default::default() });

/// Take money out, down to the credit line.
#[derive(Clone, Debug, PartialEq)]
pub struct Withdraw {
    /// The account.
    pub account: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference.
    pub reference: String,
}

annals_core::json_struct!(Withdraw { account, amount, reference = Default::default() });

/// Set how far below zero the balance may go; the new limit replaces the old.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeCreditLine {
    /// The account.
    pub account: Uuid,
    /// Cents, 0 or more.
    pub limit: i64,
}

annals_core::json_struct!(ChangeCreditLine { account, limit });

/// Move money between two accounts, atomically.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    /// The account the money leaves.
    pub from: Uuid,
    /// The account the money reaches.
    pub to: Uuid,
    /// Cents, more than 0.
    pub amount: i64,
    /// A free reference.
    pub reference: String,
}

annals_core::json_struct!(Transfer { from, to, amount, reference = Default::default() });

/// Close an account whose balance is zero.
#[derive(Clone, Debug, PartialEq)]
pub struct CloseAccount {
    /// The account.
    pub account: Uuid,
}

annals_core::json_struct!(CloseAccount { account });
