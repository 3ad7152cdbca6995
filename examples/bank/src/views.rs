//! The bank's read models: `balances` and `statement`.

use annals_core::Uuid;

use super::events::BankEvent;
use super::rules::Bank;
use annals_core::{Envelope, Json, Position, Projection, Version, id_of};

/// Per account: owner, balance, credit line, closed. Keyed by account id.
pub struct Balances;

/// One account in `balances`.
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Balance {
    /// Who owns it.
    pub owner: String,
    /// Cents.
    pub balance: i64,
    /// Cents the balance may go below zero.
    pub limit: i64,
    /// Whether it was closed.
    pub closed: bool,
}

impl Projection<Bank> for Balances {
    const NAME: &'static str = "balances";
    const VERSION: u32 = 1;
    type Row = Balance;

    fn key(envelope: &Envelope<BankEvent>) -> Option<String> {
        Some(id_of(&envelope.stream).to_owned())
    }

    fn apply(row: &mut Option<Balance>, envelope: &Envelope<BankEvent>) {
        let row = row.get_or_insert_with(Balance::default);
        match &envelope.event {
            BankEvent::AccountOpened(e) => row.owner = e.owner.clone(),
            BankEvent::CreditLineChanged(e) => row.limit = e.limit,
            BankEvent::AccountClosed(_) => row.closed = true,
            event => row.balance = row.balance.saturating_add(movement(event).0),
        }
    }
}

/// Per account, every movement in order with the balance after it. Keyed by account id.
pub struct Statement;

/// One movement in `statement`.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct StatementLine {
    /// Its global position (absent while pending).
    pub position: Option<Position>,
    /// The account stream's version after it.
    pub version: Version,
    /// The event type, e.g. `MoneyDeposited`.
    pub kind: String,
    /// Cents in (positive) or out (negative).
    pub amount: i64,
    /// The balance after it.
    pub balance: i64,
    /// The free reference.
    pub reference: String,
    /// The other account of a transfer.
    pub counterparty: Option<Uuid>,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

impl Projection<Bank> for Statement {
    const NAME: &'static str = "statement";
    const VERSION: u32 = 1;
    type Row = Vec<StatementLine>;

    fn key(envelope: &Envelope<BankEvent>) -> Option<String> {
        let (amount, _, _) = movement(&envelope.event);
        (amount != 0).then(|| id_of(&envelope.stream).to_owned())
    }

    fn apply(row: &mut Option<Vec<StatementLine>>, envelope: &Envelope<BankEvent>) {
        let lines = row.get_or_insert_with(Vec::new);
        let (amount, reference, counterparty) = movement(&envelope.event);
        let balance = lines.last().map_or(0, |line| line.balance) + amount;
        lines.push(StatementLine {
            position: envelope.position,
            version: envelope.version,
            kind: annals_core::EventData::event_type(&envelope.event).to_owned(),
            amount,
            balance,
            reference: reference.to_owned(),
            counterparty,
            at: envelope.meta.at,
        });
    }
}

/// The cents an event moves in (positive) or out (negative), its reference and counterparty.
fn movement(event: &BankEvent) -> (i64, &str, Option<Uuid>) {
    match event {
        BankEvent::MoneyDeposited(e) => (e.amount, &e.reference, None),
        BankEvent::MoneyWithdrawn(e) => (e.amount.saturating_neg(), &e.reference, None),
        BankEvent::TransferredOut(e) => (e.amount.saturating_neg(), &e.reference, Some(e.to)),
        BankEvent::TransferredIn(e) => (e.amount, &e.reference, Some(e.from)),
        _ => (0, "", None),
    }
}
