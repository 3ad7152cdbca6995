//! The bank's rules (SPEC section 3), one given/when/then test each; then undo by compensating
//! commands, and the read models `balances` and `statement`. Amounts are integer cents.

use annals_bank::*;
use annals_core::protocol::CommandResult;
use annals_core::testing::{Given, given, given_no_events, raw};
use annals_core::{CommandData, Domain, Envelope, MemoryLog, Uuid, ViewSet, meta, stream_name};
use serde_json::{Value, json};

const ALICE: Uuid = Uuid::from_u128(0xa11ce);
const BOB: Uuid = Uuid::from_u128(0xb0b);

fn account_stream(account: Uuid) -> String {
    stream_name("account", &account)
}

// Events.

fn opened(owner: &str) -> BankEvent {
    BankEvent::AccountOpened(AccountOpened { owner: owner.into() })
}

fn deposited(amount: i64, reference: &str) -> BankEvent {
    BankEvent::MoneyDeposited(MoneyDeposited { amount, reference: reference.into() })
}

fn withdrawn(amount: i64, reference: &str) -> BankEvent {
    BankEvent::MoneyWithdrawn(MoneyWithdrawn { amount, reference: reference.into() })
}

fn credit_line(limit: i64) -> BankEvent {
    BankEvent::CreditLineChanged(CreditLineChanged { limit })
}

fn transferred_out(to: Uuid, amount: i64, reference: &str) -> BankEvent {
    BankEvent::TransferredOut(TransferredOut { to, amount, reference: reference.into() })
}

fn transferred_in(from: Uuid, amount: i64, reference: &str) -> BankEvent {
    BankEvent::TransferredIn(TransferredIn { from, amount, reference: reference.into() })
}

fn closed() -> BankEvent {
    BankEvent::AccountClosed(AccountClosed {})
}

// Commands.

fn open(account: Uuid, owner: &str) -> BankCommand {
    BankCommand::OpenAccount(OpenAccount { account, owner: owner.into() })
}

fn deposit(account: Uuid, amount: i64, reference: &str) -> BankCommand {
    BankCommand::Deposit(Deposit { account, amount, reference: reference.into() })
}

fn withdraw(account: Uuid, amount: i64, reference: &str) -> BankCommand {
    BankCommand::Withdraw(Withdraw { account, amount, reference: reference.into() })
}

fn change_credit_line(account: Uuid, limit: i64) -> BankCommand {
    BankCommand::ChangeCreditLine(ChangeCreditLine { account, limit, from: None })
}

/// A change of the credit line on the condition that it is `from`.
fn change_credit_line_from(account: Uuid, limit: i64, from: i64) -> BankCommand {
    BankCommand::ChangeCreditLine(ChangeCreditLine { account, limit, from: Some(from) })
}

fn transfer(from: Uuid, to: Uuid, amount: i64, reference: &str) -> BankCommand {
    BankCommand::Transfer(Transfer { from, to, amount, reference: reference.into() })
}

fn close(account: Uuid) -> BankCommand {
    BankCommand::CloseAccount(CloseAccount { account })
}

/// Accounts whose streams already hold these events, in order.
fn accounts(events: impl IntoIterator<Item = (Uuid, BankEvent)>) -> Given<Bank> {
    given::<Bank>(events.into_iter().map(|(account, event)| (account_stream(account), event)))
}

/// Alice opened her account, then `events` happened to it.
fn alice(events: impl IntoIterator<Item = BankEvent>) -> Given<Bank> {
    let history = std::iter::once(opened("Alice")).chain(events);
    accounts(history.map(|event| (ALICE, event)))
}

/// Alice opened her account, then `events` happened to it; Bob opened his.
fn alice_and_bob(events: impl IntoIterator<Item = BankEvent>) -> Given<Bank> {
    let history = std::iter::once(opened("Alice")).chain(events);
    accounts(history.map(|event| (ALICE, event)).chain([(BOB, opened("Bob"))]))
}

/// Alice's account with `balance` cents and a credit line of `limit` cents.
fn alice_holding(balance: i64, limit: i64) -> Vec<BankEvent> {
    let mut events = vec![credit_line(limit)];
    if balance > 0 {
        events.push(deposited(balance, "salary"));
    } else if balance < 0 {
        events.push(withdrawn(-balance, "rent"));
    }
    events
}

/// Decides `command` against `given`: `Ok(event)` is the one event expected on Alice's stream,
/// `Err(code)` the expected rejection.
#[track_caller]
fn check(given: Given<Bank>, command: BankCommand, expected: Result<BankEvent, &str>) {
    let then = given.when(command);
    match expected {
        Ok(event) => {
            then.then_expect([(account_stream(ALICE), event)]);
        }
        Err(code) => {
            then.then_reject(code);
        }
    }
}

/// Checks that Alice, holding `balance` with credit line `limit`, may or may not pay `amount`,
/// by withdrawal and by transfer to Bob alike.
#[track_caller]
fn check_payment(balance: i64, limit: i64, amount: i64, allowed: bool) {
    let given = || alice_and_bob(alice_holding(balance, limit));
    let withdrawal = given().when(withdraw(ALICE, amount, "cash"));
    let transfer = given().when(transfer(ALICE, BOB, amount, "rent"));
    if allowed {
        withdrawal.then_expect([(account_stream(ALICE), withdrawn(amount, "cash"))]);
        transfer.then_expect([
            (account_stream(ALICE), transferred_out(BOB, amount, "rent")),
            (account_stream(BOB), transferred_in(ALICE, amount, "rent")),
        ]);
    } else {
        withdrawal.then_reject("insufficient_funds");
        transfer.then_reject("insufficient_funds");
    }
}

// OpenAccount.

#[test]
fn opening_an_account_records_its_owner() {
    given_no_events::<Bank>()
        .when(open(ALICE, "Alice"))
        .then_expect([(account_stream(ALICE), opened("Alice"))]);
}

#[test]
fn opening_an_account_that_exists_is_rejected() {
    alice([]).when(open(ALICE, "Eve")).then_reject("account_exists");
}

#[test]
fn opening_a_closed_account_again_is_rejected() {
    alice([closed()]).when(open(ALICE, "Alice")).then_reject("account_exists");
}

#[test]
fn owners_are_trimmed_and_1_to_100_characters() {
    let hundred = "o".repeat(100);
    let cases: [(&str, Result<&str, &str>); 6] = [
        ("Alice", Ok("Alice")),
        ("  Alice Smith ", Ok("Alice Smith")),
        (&hundred, Ok(&hundred)),
        (&"o".repeat(101), Err("invalid_owner")),
        ("", Err("invalid_owner")),
        ("\t  ", Err("invalid_owner")),
    ];
    for (owner, expected) in cases {
        check(given_no_events(), open(ALICE, owner), expected.map(opened));
    }
}

// Deposit.

#[test]
fn depositing_records_the_amount_and_reference() {
    alice([])
        .when(deposit(ALICE, 15_000, " salary "))
        .then_expect([(account_stream(ALICE), deposited(15_000, "salary"))]);
}

#[test]
fn depositing_into_an_unknown_account_is_rejected() {
    given_no_events::<Bank>().when(deposit(ALICE, 100, "salary")).then_reject("unknown_account");
}

#[test]
fn depositing_into_a_closed_account_is_rejected() {
    alice([closed()]).when(deposit(ALICE, 100, "salary")).then_reject("account_closed");
}

#[test]
fn an_amount_moved_is_more_than_zero_cents() {
    let given = || alice_and_bob(alice_holding(500, 0));
    for (amount, allowed) in [(1, true), (0, false), (-100, false)] {
        let expect = |event: BankEvent| {
            if allowed { Ok(event) } else { Err("invalid_amount") }
        };
        check(given(), deposit(ALICE, amount, "x"), expect(deposited(amount, "x")));
        check(given(), withdraw(ALICE, amount, "x"), expect(withdrawn(amount, "x")));
        let then = given().when(transfer(ALICE, BOB, amount, "x"));
        if allowed {
            then.then_expect([
                (account_stream(ALICE), transferred_out(BOB, amount, "x")),
                (account_stream(BOB), transferred_in(ALICE, amount, "x")),
            ]);
        } else {
            then.then_reject("invalid_amount");
        }
    }
}

#[test]
fn a_deposit_the_balance_cannot_hold_is_rejected() {
    alice([deposited(i64::MAX, "lottery")])
        .when(deposit(ALICE, 1, "more"))
        .then_reject("invalid_amount");
}

#[test]
fn references_are_trimmed_and_at_most_200_characters() {
    let two_hundred = "r".repeat(200);
    let padded = format!(" {two_hundred} ");
    let cases: [(&str, Result<&str, &str>); 4] = [
        ("", Ok("")),
        (&padded, Ok(&two_hundred)),
        (&"r".repeat(201), Err("invalid_reference")),
        ("  invoice 7 ", Ok("invoice 7")),
    ];
    for (reference, expected) in cases {
        let given = || alice_and_bob(alice_holding(500, 0));
        check(given(), deposit(ALICE, 100, reference), expected.map(|r| deposited(100, r)));
        check(given(), withdraw(ALICE, 100, reference), expected.map(|r| withdrawn(100, r)));
        let then = given().when(transfer(ALICE, BOB, 100, reference));
        match expected {
            Ok(r) => {
                then.then_expect([
                    (account_stream(ALICE), transferred_out(BOB, 100, r)),
                    (account_stream(BOB), transferred_in(ALICE, 100, r)),
                ]);
            }
            Err(code) => {
                then.then_reject(code);
            }
        }
    }
}

#[test]
fn a_reference_may_be_left_out() {
    let command = BankCommand::decode("Deposit", &raw(json!({ "account": ALICE, "amount": 250 })))
        .expect("a deposit needs only account and amount");
    alice([]).when(command).then_expect([(account_stream(ALICE), deposited(250, ""))]);
}

// Withdraw.

#[test]
fn withdrawing_records_the_amount_and_reference() {
    alice([deposited(500, "salary")])
        .when(withdraw(ALICE, 200, "cash"))
        .then_expect([(account_stream(ALICE), withdrawn(200, "cash"))]);
}

#[test]
fn without_a_credit_line_the_balance_may_fall_to_exactly_zero() {
    check_payment(100, 0, 100, true);
    check_payment(100, 0, 101, false);
    check_payment(0, 0, 1, false);
}

#[test]
fn with_a_credit_line_the_balance_may_fall_to_exactly_minus_the_limit() {
    check_payment(100, 50, 150, true);
    check_payment(100, 50, 151, false);
    check_payment(0, 50, 50, true);
    check_payment(0, 50, 51, false);
}

#[test]
fn an_overdrawn_account_may_pay_only_what_is_left_of_its_credit_line() {
    check_payment(-49, 50, 1, true);
    check_payment(-49, 50, 2, false);
    check_payment(-50, 50, 1, false);
}

#[test]
fn a_payment_larger_than_any_balance_is_rejected_not_wrapped_around() {
    check_payment(-10, 10, i64::MAX, false);
    check_payment(0, 0, i64::MAX, false);
    check_payment(0, i64::MAX, i64::MAX, true);
}

#[test]
fn withdrawing_more_than_the_balance_is_rejected() {
    alice([deposited(500, "salary")])
        .when(withdraw(ALICE, 501, "cash"))
        .then_reject("insufficient_funds");
}

#[test]
fn withdrawing_from_an_unknown_account_is_rejected() {
    given_no_events::<Bank>().when(withdraw(ALICE, 1, "cash")).then_reject("unknown_account");
}

#[test]
fn withdrawing_from_a_closed_account_is_rejected() {
    alice([closed()]).when(withdraw(ALICE, 1, "cash")).then_reject("account_closed");
}

// ChangeCreditLine.

#[test]
fn changing_the_credit_line_records_the_new_limit() {
    alice([])
        .when(change_credit_line(ALICE, 50_000))
        .then_expect([(account_stream(ALICE), credit_line(50_000))]);
}

#[test]
fn a_credit_line_of_zero_is_allowed() {
    alice([credit_line(100)])
        .when(change_credit_line(ALICE, 0))
        .then_expect([(account_stream(ALICE), credit_line(0))]);
}

#[test]
fn a_negative_credit_line_is_rejected() {
    alice([]).when(change_credit_line(ALICE, -1)).then_reject("invalid_amount");
}

#[test]
fn a_new_credit_line_replaces_the_old_one() {
    let given = || alice([credit_line(100), credit_line(30)]);
    check(given(), withdraw(ALICE, 30, "cash"), Ok(withdrawn(30, "cash")));
    check(given(), withdraw(ALICE, 31, "cash"), Err("insufficient_funds"));
}

#[test]
fn changing_the_credit_line_of_an_unknown_account_is_rejected() {
    given_no_events::<Bank>().when(change_credit_line(ALICE, 100)).then_reject("unknown_account");
}

#[test]
fn changing_the_credit_line_of_a_closed_account_is_rejected() {
    alice([closed()]).when(change_credit_line(ALICE, 100)).then_reject("account_closed");
}

#[test]
fn changing_the_credit_line_on_the_condition_of_the_limit_it_has_records_the_new_limit() {
    check(alice([credit_line(100)]), change_credit_line_from(ALICE, 30, 100), Ok(credit_line(30)));
    check(alice([]), change_credit_line_from(ALICE, 30, 0), Ok(credit_line(30)));
}

#[test]
fn changing_the_credit_line_on_the_condition_of_a_limit_it_no_longer_has_is_rejected() {
    alice([credit_line(100), credit_line(50)])
        .when(change_credit_line_from(ALICE, 0, 100))
        .then_reject_with("credit_line_changed", "The credit line is 50 cents now, not 100.");
}

// Transfer.

#[test]
fn a_transfer_is_money_out_of_one_stream_and_into_the_other() {
    alice_and_bob([deposited(500, "salary")])
        .when(transfer(ALICE, BOB, 200, " rent "))
        .then_expect([
            (account_stream(ALICE), transferred_out(BOB, 200, "rent")),
            (account_stream(BOB), transferred_in(ALICE, 200, "rent")),
        ]);
}

#[test]
fn a_transfers_two_events_follow_each_streams_own_version() {
    let mut bank = Ledger::with_alice_and_bob();
    bank.run(deposit(ALICE, 500, "salary"));
    let events = bank.run(transfer(ALICE, BOB, 200, "rent"));
    let placed: Vec<(String, u64, Option<u64>)> =
        events.iter().map(|e| (e.stream.clone(), e.version, e.position)).collect();
    assert_eq!(placed, [(account_stream(ALICE), 3, Some(4)), (account_stream(BOB), 2, Some(5)),]);
    assert_eq!(events[0].meta, events[1].meta, "one command, appended together");
}

#[test]
fn a_transfer_to_the_same_account_is_rejected() {
    alice([deposited(500, "salary")])
        .when(transfer(ALICE, ALICE, 100, "loop"))
        .then_reject("same_account");
}

#[test]
fn a_transfer_needs_both_accounts_to_exist() {
    alice([deposited(500, "salary")])
        .when(transfer(ALICE, BOB, 100, "rent"))
        .then_reject("unknown_account");
    accounts([(BOB, opened("Bob"))])
        .when(transfer(ALICE, BOB, 100, "rent"))
        .then_reject("unknown_account");
}

#[test]
fn a_transfer_needs_both_accounts_open() {
    alice_and_bob([closed()]).when(transfer(ALICE, BOB, 100, "rent")).then_reject("account_closed");
    alice_and_bob([deposited(500, "salary")])
        .when(close(BOB))
        .then_expect([(account_stream(BOB), closed())]);
    accounts([
        (ALICE, opened("Alice")),
        (ALICE, deposited(500, "salary")),
        (BOB, opened("Bob")),
        (BOB, closed()),
    ])
    .when(transfer(ALICE, BOB, 100, "rent"))
    .then_reject("account_closed");
}

// CloseAccount.

#[test]
fn closing_an_account_with_a_zero_balance_records_it() {
    alice([deposited(500, "salary"), withdrawn(500, "cash")])
        .when(close(ALICE))
        .then_expect([(account_stream(ALICE), closed())]);
}

#[test]
fn closing_an_account_with_money_in_it_is_rejected() {
    alice([deposited(1, "salary")]).when(close(ALICE)).then_reject("nonzero_balance");
}

#[test]
fn closing_an_overdrawn_account_is_rejected() {
    alice([credit_line(100), withdrawn(1, "cash")])
        .when(close(ALICE))
        .then_reject("nonzero_balance");
}

#[test]
fn closing_an_unknown_account_is_rejected() {
    given_no_events::<Bank>().when(close(ALICE)).then_reject("unknown_account");
}

#[test]
fn closing_an_account_twice_is_rejected() {
    alice([closed()]).when(close(ALICE)).then_reject("account_closed");
}

#[test]
fn every_command_but_open_needs_an_account_that_exists_and_is_open() {
    let commands = [
        deposit(ALICE, 100, "salary"),
        withdraw(ALICE, 100, "cash"),
        change_credit_line(ALICE, 100),
        transfer(ALICE, BOB, 100, "rent"),
        transfer(BOB, ALICE, 100, "rent"),
        close(ALICE),
    ];
    for command in commands {
        let bob_has_money = || (BOB, deposited(1_000, "salary"));
        accounts([(BOB, opened("Bob")), bob_has_money()])
            .when(command.clone())
            .then_reject("unknown_account");
        accounts([
            (ALICE, opened("Alice")),
            (ALICE, closed()),
            (BOB, opened("Bob")),
            bob_has_money(),
        ])
        .when(command)
        .then_reject("account_closed");
    }
}

// Undo: each command's compensation, run through a recorded log.

/// A recorded log of the bank; each command gets the next id and a later time.
#[derive(Default)]
struct Ledger {
    log: MemoryLog<Bank>,
    commands: u128,
}

impl Ledger {
    /// A bank where Alice and Bob opened their accounts.
    fn with_alice_and_bob() -> Self {
        let mut bank = Ledger::default();
        bank.run(open(ALICE, "Alice"));
        bank.run(open(BOB, "Bob"));
        bank
    }

    /// Records `command` if it is accepted: its events, or the rejection's code.
    fn submit(&mut self, command: &BankCommand) -> Result<Vec<Envelope<BankEvent>>, String> {
        self.commands += 1;
        let at = 1_732_370_000_000 + 60_000 * self.commands as i64;
        let meta = meta(Uuid::from_u128(self.commands), "teller", at);
        match self.log.submit(command, &meta, None) {
            CommandResult::Accepted { events, .. } => Ok(events),
            CommandResult::Rejected { code, .. } => Err(code),
        }
    }

    /// Records `command`, which must be accepted, and returns its events.
    #[track_caller]
    fn run(&mut self, command: BankCommand) -> Vec<Envelope<BankEvent>> {
        self.submit(&command).unwrap_or_else(|code| panic!("{command:?} was rejected: {code}"))
    }

    /// Records `command` and returns the command that undoes it (decided from the states
    /// before `command`).
    #[track_caller]
    fn run_to_undo(&mut self, command: BankCommand) -> BankCommand {
        let meta = meta(Uuid::from_u128(self.commands + 1), "teller", 0);
        let undo = self.log.compensation(&command, &meta);
        self.run(command.clone());
        undo.unwrap_or_else(|| panic!("{command:?} has no compensation"))
    }

    /// Records `command`, then the command that undoes it, and returns that compensation.
    #[track_caller]
    fn run_and_undo(&mut self, command: BankCommand) -> BankCommand {
        let undo = self.run_to_undo(command);
        self.run(undo.clone());
        undo
    }

    fn account(&self, account: Uuid) -> Account {
        let state = self.log.state(&account_stream(account)).state;
        state.expect("the account was opened")
    }

    fn views(&self) -> ViewSet<Bank> {
        ViewSet::fold(self.log.events())
    }
}

/// Records `setup` and `command`, undoes `command`, and checks the compensation was `undo` and
/// left both accounts as they were before `command`, with every event kept.
#[track_caller]
fn check_undo(setup: &[BankCommand], command: BankCommand, undo: BankCommand) {
    let mut bank = Ledger::with_alice_and_bob();
    for command in setup {
        bank.run(command.clone());
    }
    let before = (bank.account(ALICE), bank.account(BOB));
    let events = bank.log.events().len();
    let appended = Bank::streams(&command).len() + Bank::streams(&undo).len();
    assert_eq!(bank.run_and_undo(command), undo);
    assert_eq!((bank.account(ALICE), bank.account(BOB)), before, "undo restores the accounts");
    assert_eq!(bank.log.events().len(), events + appended, "undo appends, never deletes");
}

#[test]
fn undoing_a_deposit_withdraws_it() {
    check_undo(&[], deposit(ALICE, 500, "salary"), withdraw(ALICE, 500, "undo salary"));
}

#[test]
fn undoing_a_withdrawal_deposits_it_back() {
    check_undo(
        &[deposit(ALICE, 500, "salary")],
        withdraw(ALICE, 200, "cash"),
        deposit(ALICE, 200, "undo cash"),
    );
}

#[test]
fn undoing_a_movement_without_a_reference_refers_to_undo() {
    check_undo(&[], deposit(ALICE, 500, ""), withdraw(ALICE, 500, "undo"));
}

#[test]
fn undoing_a_movement_with_the_longest_reference_still_goes_through() {
    let reference = "r".repeat(200);
    let mut bank = Ledger::with_alice_and_bob();
    let undo = bank.run_and_undo(deposit(ALICE, 500, &reference));
    let BankCommand::Withdraw(undo) = undo else {
        panic!("undoing a deposit withdraws, not {undo:?}")
    };
    assert!(undo.reference.starts_with("undo r"));
    assert_eq!(undo.reference.chars().count(), 200);
    assert_eq!(bank.account(ALICE).balance, 0);
}

#[test]
fn undoing_a_credit_line_change_restores_the_old_limit_if_it_is_still_the_new_one() {
    check_undo(
        &[change_credit_line(ALICE, 100)],
        change_credit_line(ALICE, 300),
        change_credit_line_from(ALICE, 100, 300),
    );
}

#[test]
fn undoing_a_credit_line_change_after_another_change_is_refused_and_keeps_the_other() {
    let mut bank = Ledger::with_alice_and_bob();
    let undo = bank.run_to_undo(change_credit_line(ALICE, 300));
    bank.run(change_credit_line(ALICE, 50));
    assert_eq!(bank.submit(&undo), Err("credit_line_changed".into()));
    assert_eq!(bank.account(ALICE).limit, 50);
}

#[test]
fn undoing_a_deposit_keeps_what_others_moved_since() {
    let mut bank = Ledger::with_alice_and_bob();
    let undo = bank.run_to_undo(deposit(ALICE, 500, "salary"));
    bank.run(deposit(ALICE, 70, "refund"));
    bank.run(transfer(ALICE, BOB, 20, "lunch"));
    bank.run(undo);
    assert_eq!((bank.account(ALICE).balance, bank.account(BOB).balance), (50, 20));
}

#[test]
fn undoing_a_deposit_spent_since_is_refused() {
    let mut bank = Ledger::with_alice_and_bob();
    let undo = bank.run_to_undo(deposit(ALICE, 500, "salary"));
    bank.run(transfer(ALICE, BOB, 200, "rent"));
    assert_eq!(bank.submit(&undo), Err("insufficient_funds".into()));
    assert_eq!(bank.account(ALICE).balance, 300);
}

#[test]
fn undoing_an_opening_is_refused_once_the_account_holds_money() {
    let mut bank = Ledger::default();
    let undo = bank.run_to_undo(open(ALICE, "Alice"));
    bank.run(deposit(ALICE, 5, "gift"));
    assert_eq!(bank.submit(&undo), Err("nonzero_balance".into()));
    assert!(!bank.account(ALICE).closed);
}

#[test]
fn undoing_a_transfer_transfers_back() {
    check_undo(
        &[deposit(ALICE, 500, "salary")],
        transfer(ALICE, BOB, 200, "rent"),
        transfer(BOB, ALICE, 200, "undo rent"),
    );
}

#[test]
fn undoing_an_opening_closes_the_account_and_keeps_its_history() {
    let mut bank = Ledger::default();
    let undo = bank.run_and_undo(open(ALICE, "Alice"));
    assert_eq!(undo, close(ALICE));
    assert!(bank.account(ALICE).closed);
    assert_eq!(bank.log.stream(&account_stream(ALICE)).len(), 2);
}

#[test]
fn closing_an_account_cannot_be_undone() {
    let bank = Ledger::with_alice_and_bob();
    assert_eq!(bank.log.compensation(&close(ALICE), &meta(Uuid::nil(), "teller", 0)), None);
}

#[test]
fn a_credit_line_change_on_an_account_that_did_not_exist_has_nothing_to_restore() {
    assert_eq!(given_no_events::<Bank>().compensation(&change_credit_line(ALICE, 5)), None);
}

// Read models.

fn view(views: &ViewSet<Bank>, name: &str) -> Value {
    let value = views.view(name).expect("the bank has this view").value();
    serde_json::from_str(value.get()).expect("a view is JSON")
}

fn row(views: &ViewSet<Bank>, name: &str, account: Uuid) -> Option<Value> {
    let view = views.view(name).expect("the bank has this view");
    view.get(&account.to_string())
        .map(|row| serde_json::from_str(row.get()).expect("a row is JSON"))
}

#[test]
fn the_bank_has_two_views() {
    let names: Vec<&str> =
        ViewSet::<Bank>::default().names().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["balances", "statement"]);
}

#[test]
fn balances_show_each_accounts_owner_balance_credit_line_and_state() {
    let mut bank = Ledger::with_alice_and_bob();
    bank.run(deposit(ALICE, 1_000, "salary"));
    bank.run(change_credit_line(ALICE, 500));
    bank.run(withdraw(ALICE, 1_300, "rent"));
    bank.run(transfer(ALICE, BOB, 200, "dinner"));
    bank.run(open(Uuid::from_u128(0xca201), "Carol"));
    bank.run(close(Uuid::from_u128(0xca201)));

    assert_eq!(
        view(&bank.views(), "balances"),
        json!({
            ALICE.to_string(): { "owner": "Alice", "balance": -500, "limit": 500, "closed": false },
            BOB.to_string(): { "owner": "Bob", "balance": 200, "limit": 0, "closed": false },
            Uuid::from_u128(0xca201).to_string():
                { "owner": "Carol", "balance": 0, "limit": 0, "closed": true },
        })
    );
}

#[test]
fn a_statement_lists_an_accounts_movements_in_order_with_the_running_balance() {
    let mut bank = Ledger::with_alice_and_bob(); // positions 1, 2
    bank.run(deposit(ALICE, 1_000, "salary")); // 3
    bank.run(change_credit_line(ALICE, 500)); // 4, not a movement
    bank.run(withdraw(ALICE, 1_300, "rent")); // 5
    bank.run(transfer(ALICE, BOB, 200, "dinner")); // 6 out, 7 in
    bank.run(transfer(BOB, ALICE, 50, "change")); // 8 out, 9 in

    let at = |command: i64| 1_732_370_000_000_i64 + 60_000 * command;
    let views = bank.views();
    assert_eq!(
        row(&views, "statement", ALICE),
        Some(json!([
            { "position": 3, "version": 2, "kind": "MoneyDeposited", "amount": 1_000,
              "balance": 1_000, "reference": "salary", "at": at(3) },
            { "position": 5, "version": 4, "kind": "MoneyWithdrawn", "amount": -1_300,
              "balance": -300, "reference": "rent", "at": at(5) },
            { "position": 6, "version": 5, "kind": "TransferredOut", "amount": -200,
              "balance": -500, "reference": "dinner", "counterparty": BOB, "at": at(6) },
            { "position": 9, "version": 6, "kind": "TransferredIn", "amount": 50,
              "balance": -450, "reference": "change", "counterparty": BOB, "at": at(7) },
        ]))
    );
    let bob: Vec<(Value, Value)> = row(&views, "statement", BOB)
        .expect("Bob has a statement")
        .as_array()
        .expect("a statement is a list")
        .iter()
        .map(|line| (line["amount"].clone(), line["balance"].clone()))
        .collect();
    assert_eq!(bob, [(json!(200), json!(200)), (json!(-50), json!(150))]);
}

#[test]
fn a_statement_ends_at_the_balance() {
    let mut bank = Ledger::with_alice_and_bob();
    bank.run(deposit(ALICE, 700, "salary"));
    bank.run(transfer(ALICE, BOB, 300, "rent"));
    bank.run(withdraw(ALICE, 150, "cash"));
    let views = bank.views();
    for account in [ALICE, BOB] {
        let statement = row(&views, "statement", account).expect("a statement");
        let last = statement.as_array().and_then(|lines| lines.last()).cloned();
        let balance = row(&views, "balances", account).map(|row| row["balance"].clone());
        assert_eq!(last.map(|line| line["balance"].clone()), balance);
        assert_eq!(balance, Some(json!(bank.account(account).balance)));
    }
}

#[test]
fn an_account_without_movements_has_no_statement() {
    let mut bank = Ledger::with_alice_and_bob();
    bank.run(change_credit_line(ALICE, 100));
    assert_eq!(row(&bank.views(), "statement", ALICE), None);
    assert_eq!(view(&bank.views(), "statement"), json!({}));
}
