//! The bank's decider: the rules for each command, and the fold of its events.

use annals_core::Uuid;

use super::commands::*;
use super::events::*;
use super::views::{Balances, Statement};

use annals_core::{Change, Context, Domain, DynView, Json, Rejection, Table, stream_name};

/// The bank domain. Its streams are `account-<uuid>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bank;

/// An account's decided state (`None` in [`Bank`]'s `State` until it is opened).
#[derive(Clone, Debug, Default, PartialEq, Json)]
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

impl Account {
    /// Whether `amount` may leave the account: the balance may fall to exactly `-limit`.
    pub fn can_pay(&self, amount: i64) -> bool {
        // In i128, so a huge amount is refused rather than wrapped around.
        i128::from(self.balance) - i128::from(amount) >= -i128::from(self.limit)
    }
}

/// Why a bank command is refused.
#[derive(Clone, Debug, PartialEq, Rejection)]
pub enum BankRejection {
    /// The account was opened before.
    #[rejection("Account {0} already exists.")]
    AccountExists(Uuid),
    /// No account has this id.
    #[rejection("There is no account {0}.")]
    UnknownAccount(Uuid),
    /// The account was closed.
    #[rejection("Account {0} is closed.")]
    AccountClosed(Uuid),
    /// An owner's name that is empty or too long once trimmed.
    #[rejection("An owner's name must be 1 to 100 characters, not {0}.")]
    InvalidOwner(usize),
    /// An amount of 0 or less.
    #[rejection(code = "invalid_amount", "An amount must be more than 0 cents, not {0}.")]
    NotPositive(i64),
    /// A credit line below 0.
    #[rejection(code = "invalid_amount", "A credit line must be 0 or more, not {0}.")]
    NegativeCreditLine(i64),
    /// An amount the balance could not hold.
    #[rejection(code = "invalid_amount", "A balance of {balance} cents cannot take {amount} more.")]
    Overflow {
        /// The balance.
        balance: i64,
        /// What was to arrive.
        amount: i64,
    },
    /// More than the balance and the credit line allow.
    #[rejection(
        "The balance is {balance} cents with a credit line of {limit}; {amount} cannot leave."
    )]
    InsufficientFunds {
        /// The balance.
        balance: i64,
        /// The credit line.
        limit: i64,
        /// What was to leave.
        amount: i64,
    },
    /// A change of the credit line on the condition that it is a limit it no longer is.
    #[rejection("The credit line is {limit} cents now, not {from}.")]
    CreditLineChanged {
        /// The credit line now.
        limit: i64,
        /// The credit line the command expected.
        from: i64,
    },
    /// A transfer from an account to itself.
    #[rejection("A transfer needs two different accounts.")]
    SameAccount,
    /// Closing an account that holds or owes money.
    #[rejection("The balance is {0} cents; it must be 0 to close.")]
    NonzeroBalance(i64),
    /// A reference of more than 200 characters.
    #[rejection("A reference must be at most 200 characters.")]
    InvalidReference,
}

use BankRejection as No;

impl Domain for Bank {
    const NAME: &'static str = "bank";
    const CATEGORY: &'static str = "account";
    const STATE_VERSION: u32 = 1;

    type Command = BankCommand;
    type Event = BankEvent;
    type State = Option<Account>;
    type Rejection = BankRejection;

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
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<BankEvent>>, BankRejection> {
        let first = context.stream(0);
        let state = first.state.as_ref();
        let one = |event| Ok(vec![first.append(event)]);
        match command {
            BankCommand::OpenAccount(c) => {
                if state.is_some() {
                    return Err(No::AccountExists(c.account));
                }
                let owner = text(&c.owner, 100).map_err(No::InvalidOwner)?;
                one(BankEvent::AccountOpened(AccountOpened { owner }))
            }
            BankCommand::Deposit(c) => {
                let account = open(state, &c.account)?;
                let amount = positive(c.amount)?;
                holds(account, amount)?;
                one(BankEvent::MoneyDeposited(MoneyDeposited {
                    amount,
                    reference: reference(&c.reference)?,
                }))
            }
            BankCommand::Withdraw(c) => {
                let account = open(state, &c.account)?;
                let amount = positive(c.amount)?;
                covers(account, amount)?;
                let reference = reference(&c.reference)?;
                one(BankEvent::MoneyWithdrawn(MoneyWithdrawn { amount, reference }))
            }
            BankCommand::ChangeCreditLine(c) => {
                let account = open(state, &c.account)?;
                if c.limit < 0 {
                    return Err(No::NegativeCreditLine(c.limit));
                }
                if let Some(from) = c.from
                    && from != account.limit
                {
                    return Err(No::CreditLineChanged { limit: account.limit, from });
                }
                one(BankEvent::CreditLineChanged(CreditLineChanged { limit: c.limit }))
            }
            BankCommand::Transfer(c) => {
                if c.from == c.to {
                    return Err(No::SameAccount);
                }
                let amount = positive(c.amount)?;
                let to_stream = context.stream(1);
                let from = open(state, &c.from)?;
                let to = open(to_stream.state.as_ref(), &c.to)?;
                covers(from, amount)?;
                holds(to, amount)?;
                let reference = reference(&c.reference)?;
                Ok(vec![
                    first.append(BankEvent::TransferredOut(TransferredOut {
                        to: c.to,
                        amount,
                        reference: reference.clone(),
                    })),
                    to_stream.append(BankEvent::TransferredIn(TransferredIn {
                        from: c.from,
                        amount,
                        reference,
                    })),
                ])
            }
            BankCommand::CloseAccount(c) => {
                let account = open(state, &c.account)?;
                if account.balance != 0 {
                    return Err(No::NonzeroBalance(account.balance));
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
            // Saturating: a raw append may carry any amount, and a fold never fails.
            BankEvent::MoneyDeposited(e) => {
                account.balance = account.balance.saturating_add(e.amount)
            }
            BankEvent::MoneyWithdrawn(e) => {
                account.balance = account.balance.saturating_sub(e.amount)
            }
            BankEvent::CreditLineChanged(e) => account.limit = e.limit,
            BankEvent::TransferredOut(e) => {
                account.balance = account.balance.saturating_sub(e.amount)
            }
            BankEvent::TransferredIn(e) => {
                account.balance = account.balance.saturating_add(e.amount)
            }
            BankEvent::AccountClosed(_) => account.closed = true,
        }
    }

    /// Undo takes back what a command did and nothing else. Money that came in goes out again
    /// and the other way round (a transfer goes back), so an undo commutes with what other
    /// devices did meanwhile and is refused rather than overdraw an account. A credit line is
    /// set back on the condition that it is still the limit the change set (`from`), so an
    /// undo never erases another device's change. An opened account is undone by closing it,
    /// which its own rule refuses while it holds or owes money; closing cannot be undone.
    fn compensate(command: &BankCommand, before: &Context<'_, Self>) -> Option<BankCommand> {
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
                limit: before.stream(0).state.as_ref()?.limit,
                from: Some(c.limit),
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
fn open<'a>(state: Option<&'a Account>, id: &Uuid) -> Result<&'a Account, BankRejection> {
    match state {
        None => Err(No::UnknownAccount(*id)),
        Some(account) if account.closed => Err(No::AccountClosed(*id)),
        Some(account) => Ok(account),
    }
}

fn positive(amount: i64) -> Result<i64, BankRejection> {
    if amount <= 0 {
        return Err(No::NotPositive(amount));
    }
    Ok(amount)
}

fn covers(account: &Account, amount: i64) -> Result<(), BankRejection> {
    if !account.can_pay(amount) {
        return Err(No::InsufficientFunds {
            balance: account.balance,
            limit: account.limit,
            amount,
        });
    }
    Ok(())
}

/// `amount` may arrive only if the balance still fits in an i64 after it.
fn holds(account: &Account, amount: i64) -> Result<(), BankRejection> {
    if account.balance.checked_add(amount).is_none() {
        return Err(No::Overflow { balance: account.balance, amount });
    }
    Ok(())
}

/// The most characters a reference may have.
const REFERENCE_LENGTH: usize = 200;

fn reference(reference: &str) -> Result<String, BankRejection> {
    let reference = reference.trim();
    if reference.chars().count() > REFERENCE_LENGTH {
        return Err(No::InvalidReference);
    }
    Ok(reference.to_owned())
}

/// Trimmed text of 1 to `max` characters, or its length in characters.
fn text(value: &str, max: usize) -> Result<String, usize> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(length);
    }
    Ok(value.to_owned())
}
