//! What happened to bank accounts.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{events, no_upcast};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountOpened {
    /// Who owns it.
    pub owner: String,
}

/// Money was put in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoneyDeposited {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// Money was taken out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoneyWithdrawn {
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// The credit line was set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreditLineChanged {
    /// Cents the balance may go below zero.
    pub limit: i64,
}

/// Money left for another account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferredOut {
    /// The receiving account.
    pub to: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// Money arrived from another account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferredIn {
    /// The sending account.
    pub from: Uuid,
    /// Cents.
    pub amount: i64,
    /// The free reference.
    pub reference: String,
}

/// The account was closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountClosed {}
