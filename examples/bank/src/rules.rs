//! The bank's decider: the rules for each command, and the fold of its events.

use annals_core::Uuid;

use super::commands::*;
use super::events::*;
use super::views::{Balances, Statement};

use annals_core::{Change, Domain, Rejection, stream_name};
use annals_core::{DynView, Table};

/// The bank domain. Its streams are `account-<uuid>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bank;

/// An account's decided state (`None` in [`Bank`]'s `State` until it is opened).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Account {
    /// Who owns it.
    pub owner: String,
    /// Cents; below zero down to `-limit`.
    pub balance: i64,
    /// Cents the balance may go below zero.
    pub limit: i64,
    /// Whether it was closed.
    pub closed: bool,
}

annals_core::json_struct!(Account { owner, balance, limit, closed });

impl Account {
    /// Whether `amount` may leave the account: the balance may fall to exactly `-limit`.
    pub fn can_pay(&self, amount: i64) -> bool {
        // In i128, so a huge amount is refused rather than wrapped around.
        i128::from(self.balance) - i128::from(amount) >= -i128::from(self.limit)
    }
}

impl Domain for Bank {
    const NAME: &'static str = "bank";
    const CATEGORY: &'static str = "account";
    const STATE_VERSION: u32 = 1;

    type Command = BankCommand;
    type Event = BankEvent;
    type State = Option<Account>;

    fn streams(command: &BankCommand) -> Vec<String> {
        let account = |id| stream_name(Self::CATEGORY, id);
        match command {
            BankCommand::OpenAccount(c) => vec![account(&c.account)],
            BankCommand::Deposit(c) => vec![account(&c.account)],
            BankCommand::Withdraw(c) => vec![account(&c.account)],
            BankCommand::ChangeCreditLine(c) => vec![account(&c.account)],
            BankCommand::Transfer(c) => vec![account(&c.from), account(&c.to)],
            BankCommand::CloseAccount(c) => vec![account(&c.account)],
        }
    }

    fn decide(
        command: &BankCommand,
        states: &[&Option<Account>],
    ) -> Result<Vec<Change<BankEvent>>, Rejection> {
        let streams = Self::streams(command);
        let state = |i: usize| states.get(i).copied().and_then(Option::as_ref);
        let one = |event| Ok(vec![(streams[0].clone(), event)]);
        match command {
            BankCommand::OpenAccount(c) => {
                if state(0).is_some() {
                    return Err(Rejection::new(
                        "account_exists",
                        format!("Account {} already exists.", c.account),
                    ));
                }
                let owner = text(&c.owner, 100, "invalid_owner", "An owner's name")?;
                one(BankEvent::AccountOpened(AccountOpened { owner }))
            }
            BankCommand::Deposit(c) => {
                let account = open(state(0), &c.account)?;
                let amount = positive(c.amount)?;
                holds(account, amount)?;
                one(BankEvent::MoneyDeposited(MoneyDeposited {
                    amount,
                    reference: reference(&c.reference)?,
                }))
            }
            BankCommand::Withdraw(c) => {
                let account = open(state(0), &c.account)?;
                let amount = positive(c.amount)?;
                covers(account, amount)?;
                let reference = reference(&c.reference)?;
                one(BankEvent::MoneyWithdrawn(MoneyWithdrawn { amount, reference }))
            }
            BankCommand::ChangeCreditLine(c) => {
                open(state(0), &c.account)?;
                if c.limit < 0 {
                    return Err(Rejection::new(
                        "invalid_amount",
                        format!("A credit line must be 0 or more, not {}.", c.limit),
                    ));
                }
                one(BankEvent::CreditLineChanged(CreditLineChanged { limit: c.limit }))
            }
            BankCommand::Transfer(c) => {
                if c.from == c.to {
                    return Err(Rejection::new(
                        "same_account",
                        "A transfer needs two different accounts.",
                    ));
                }
                let amount = positive(c.amount)?;
                let from = open(state(0), &c.from)?;
                let to = open(state(1), &c.to)?;
                covers(from, amount)?;
                holds(to, amount)?;
                let reference = reference(&c.reference)?;
                Ok(vec![
                    (
                        streams[0].clone(),
                        BankEvent::TransferredOut(TransferredOut {
                            to: c.to,
                            amount,
                            reference: reference.clone(),
                        }),
                    ),
                    (
                        streams[1].clone(),
                        BankEvent::TransferredIn(TransferredIn { from: c.from, amount, reference }),
                    ),
                ])
            }
            BankCommand::CloseAccount(c) => {
                let account = open(state(0), &c.account)?;
                if account.balance != 0 {
                    return Err(Rejection::new(
                        "nonzero_balance",
                        format!("The balance is {} cents; it must be 0 to close.", account.balance),
                    ));
                }
                one(BankEvent::AccountClosed(AccountClosed {}))
            }
        }
    }

    fn evolve(state: &mut Option<Account>, event: &BankEvent) {
        if let BankEvent::AccountOpened(e) = event {
            *state = Some(Account { owner: e.owner.clone(), ..Account::default() });
            return;
        }
        let Some(account) = state else { return };
        match event {
            BankEvent::AccountOpened(_) => {}
            BankEvent::MoneyDeposited(e) => account.balance += e.amount,
            BankEvent::MoneyWithdrawn(e) => account.balance -= e.amount,
            BankEvent::CreditLineChanged(e) => account.limit = e.limit,
            BankEvent::TransferredOut(e) => account.balance -= e.amount,
            BankEvent::TransferredIn(e) => account.balance += e.amount,
            BankEvent::AccountClosed(_) => account.closed = true,
        }
    }

    fn compensate(command: &BankCommand, before: &[&Option<Account>]) -> Option<BankCommand> {
        let undo = |reference: &str| {
            let undo = format!("undo {reference}");
            undo.trim().chars().take(REFERENCE_LENGTH).collect::<String>()
        };
        Some(match command {
            BankCommand::OpenAccount(c) => {
                BankCommand::CloseAccount(CloseAccount { account: c.account })
            }
            BankCommand::Deposit(c) => BankCommand::Withdraw(Withdraw {
                account: c.account,
                amount: c.amount,
                reference: undo(&c.reference),
            }),
            BankCommand::Withdraw(c) => BankCommand::Deposit(Deposit {
                account: c.account,
                amount: c.amount,
                reference: undo(&c.reference),
            }),
            BankCommand::ChangeCreditLine(c) => BankCommand::ChangeCreditLine(ChangeCreditLine {
                account: c.account,
                limit: before.first().copied().and_then(Option::as_ref)?.limit,
            }),
            BankCommand::Transfer(c) => BankCommand::Transfer(Transfer {
                from: c.to,
                to: c.from,
                amount: c.amount,
                reference: undo(&c.reference),
            }),
            BankCommand::CloseAccount(_) => return None,
        })
    }

    fn views() -> Vec<Box<dyn DynView<Self>>> {
        vec![Table::<Self, Balances>::boxed(), Table::<Self, Statement>::boxed()]
    }
}

/// The account, if it exists and is open.
fn open<'a>(state: Option<&'a Account>, id: &Uuid) -> Result<&'a Account, Rejection> {
    match state {
        None => Err(Rejection::new("unknown_account", format!("There is no account {id}."))),
        Some(account) if account.closed => {
            Err(Rejection::new("account_closed", format!("Account {id} is closed.")))
        }
        Some(account) => Ok(account),
    }
}

fn positive(amount: i64) -> Result<i64, Rejection> {
    if amount <= 0 {
        return Err(Rejection::new(
            "invalid_amount",
            format!("An amount must be more than 0 cents, not {amount}."),
        ));
    }
    Ok(amount)
}

fn covers(account: &Account, amount: i64) -> Result<(), Rejection> {
    if !account.can_pay(amount) {
        return Err(Rejection::new(
            "insufficient_funds",
            format!(
                "The balance is {} cents with a credit line of {}; {amount} cannot leave.",
                account.balance, account.limit
            ),
        ));
    }
    Ok(())
}

/// `amount` may arrive only if the balance still fits in an i64 after it.
fn holds(account: &Account, amount: i64) -> Result<(), Rejection> {
    if account.balance.checked_add(amount).is_none() {
        return Err(Rejection::new(
            "invalid_amount",
            format!("A balance of {} cents cannot take {amount} more.", account.balance),
        ));
    }
    Ok(())
}

/// The most characters a reference may have.
const REFERENCE_LENGTH: usize = 200;

fn reference(reference: &str) -> Result<String, Rejection> {
    let reference = reference.trim();
    if reference.chars().count() > REFERENCE_LENGTH {
        return Err(Rejection::new(
            "invalid_reference",
            "A reference must be at most 200 characters.",
        ));
    }
    Ok(reference.to_owned())
}

/// Trimmed text of 1 to `max` characters, or a rejection with `code`.
fn text(value: &str, max: usize, code: &str, what: &str) -> Result<String, Rejection> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(Rejection::new(
            code,
            format!("{what} must be 1 to {max} characters, not {length}."),
        ));
    }
    Ok(value.to_owned())
}
