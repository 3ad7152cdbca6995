//! What happened to bank accounts.

use annals_core::{Event, Json, Uuid};

/// A bank event.
#[derive(Clone, Debug, PartialEq, Event)]
pub enum BankEvent {
    /// See [`AccountOpened`].
    AccountOpened(AccountOpened),
    /// See [`MoneyDeposited`].
    MoneyDeposited(MoneyDeposited),
    /// See [`MoneyWithdrawn`].
    MoneyWithdrawn(MoneyWithdrawn),
    /// See [`CreditLineChanged`].
    CreditLineChanged(CreditLineChanged),
    /// See [`TransferredOut`].
    TransferredOut(TransferredOut),
    /// See [`TransferredIn`].
    TransferredIn(TransferredIn),
    /// See [`AccountClosed`].
    AccountClosed(AccountClosed),
}

/// An account was opened.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct AccountOpened {
    /// Who owns it.
    pub owner: String,
}

/// Money was put in.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct MoneyDeposited {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// Money was taken out.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct MoneyWithdrawn {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// The credit line was set.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct CreditLineChanged {
    /// Cents the balance may go below zero.
    pub limit: i64,
}

/// Money left for another account.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct TransferredOut {
    /// The receiving account.
    pub to: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// Money arrived from another account.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct TransferredIn {
    /// The sending account.
    pub from: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// The account was closed.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct AccountClosed {}
