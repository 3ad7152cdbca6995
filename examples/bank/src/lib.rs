//! Bank accounts: the second domain, proving the engine is generic. Amounts are integer cents.
//!
//! Stream `account-<uuid>`. A transfer touches two streams and is appended atomically.

mod commands;
mod events;
mod rules;
mod views;

pub use commands::{
    BankCommand, ChangeCreditLine, CloseAccount, Deposit, OpenAccount, Transfer, Withdraw,
};
pub use events::{
    AccountClosed, AccountOpened, BankEvent, CreditLineChanged, MoneyDeposited, MoneyWithdrawn,
    TransferredIn, TransferredOut,
};
pub use rules::{Account, Bank, BankRejection};
pub use views::{Balance, Balances, Statement, StatementLine};
