//! What happened to bank accounts.

use annals_core::Uuid;

use annals_core::{events, no_upcast};

events! {
    /// A bank event.
    pub enum BankEvent {
        AccountOpened = 1,
        MoneyDeposited = 1,
        MoneyWithdrawn = 1,
        CreditLineChanged = 1,
        TransferredOut = 1,
        TransferredIn = 1,
        AccountClosed = 1,
    }
    upcast: no_upcast
}

/// An account was opened.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountOpened {
    /// Who owns it.
    pub owner: String,
}

annals_core::json_struct!(AccountOpened { owner });

/// Money was put in.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyDeposited {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

annals_core::json_struct!(MoneyDeposited { amount, reference });

/// Money was taken out.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyWithdrawn {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

annals_core::json_struct!(MoneyWithdrawn { amount, reference });

/// The credit line was set.
#[derive(Clone, Debug, PartialEq)]
pub struct CreditLineChanged {
    /// Cents the balance may go below zero.
    pub limit: i64,
}

annals_core::json_struct!(CreditLineChanged { limit });

/// Money left for another account.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferredOut {
    /// The receiving account.
    pub to: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

annals_core::json_struct!(TransferredOut { to, amount, reference });

/// Money arrived from another account.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferredIn {
    /// The sending account.
    pub from: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

annals_core::json_struct!(TransferredIn { from, amount, reference });

/// The account was closed.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountClosed {}

annals_core::json_struct!(AccountClosed {});
