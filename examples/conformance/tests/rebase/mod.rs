//! Law 4 by example: a command that no longer holds after a rebase, or that the server
//! refuses, moves to rejected with its reason, and the commands queued around it carry on; a
//! page of the log that ends inside a command refuses nothing. And law 3 for a command that
//! records nothing: the server's answer alone settles it.

use annals_bank::{Bank, BankCommand, Deposit, OpenAccount, Transfer, Withdraw};
use annals_core::protocol::CommandResult;
use annals_core::{
    CommandData, Domain, MemoryLog, Rebased, Rejected, Rejection, Replica, Status, StreamState,
    Uuid, execute, meta, stream_name,
};
use annals_inventory::{
    AddItem, ConsumeStock, Inventory, InventoryCommand, ReceiveStock, RenameItem,
};
use annals_todo::{Todo, TodoCommand};

use crate::command_id;
use crate::sync::ids;

/// Pushes a replica's outbox to `log` and hands it the answers.
fn push<D: Domain>(log: &mut MemoryLog<D>, replica: &mut Replica<D>) -> Rebased {
    let results: Vec<_> = replica
        .outbox()
        .into_iter()
        .map(|request| {
            let command = D::Command::decode(&request.command_type, &request.data)
                .expect("a replica sends commands its domain can read");
            log.submit(&command, &meta(request.id, "server", 0), None)
        })
        .collect();
    replica.acknowledge(&results)
}

/// Hands a replica every event of `log` after its position.
fn pull<D: Domain>(log: &MemoryLog<D>, replica: &mut Replica<D>) -> Rebased {
    let events = log.after(replica.position());
    replica.receive(events).expect("the log follows the replica's position")
}

/// Records `commands` in `log` (they must all be accepted).
fn given<D: Domain>(log: &mut MemoryLog<D>, commands: &[D::Command]) {
    for command in commands {
        let meta = meta(Uuid::from_u128(0xF00D_0000 + log.head() as u128), "setup", 0);
        let result = log.submit(command, &meta, None);
        assert!(matches!(result, CommandResult::Accepted { .. }), "{result:?}");
    }
}

/// Why the server would refuse `command` now.
fn reason<D: Domain>(log: &MemoryLog<D>, command: &D::Command) -> Rejection {
    let states: Vec<(String, StreamState<D>)> = D::streams(command)
        .into_iter()
        .map(|stream| {
            let state = log.state(&stream);
            (stream, state)
        })
        .collect();
    let streams: Vec<(&str, &StreamState<D>)> =
        states.iter().map(|(s, t)| (s.as_str(), t)).collect();
    execute::<D>(command, &meta(Uuid::nil(), "probe", 0), &streams)
        .expect_err("the command no longer holds")
}

/// Runs `commands` offline on `replica` under the ids `first`, `first + 1`, ...
fn queue<D: Domain>(replica: &mut Replica<D>, first: usize, commands: &[D::Command]) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for (n, command) in commands.iter().enumerate() {
        let id = command_id(first + n);
        replica.execute(command.clone(), meta(id, "clerk", 0)).expect("the command holds offline");
        ids.push(id);
    }
    ids
}

fn rejected<D: Domain>(id: Uuid, command: &D::Command, rejection: Rejection) -> Rejected<D> {
    Rejected { id, command: command.clone(), code: rejection.code, message: rejection.message }
}

const MILK: Uuid = Uuid::from_u128(1);
const RICE: Uuid = Uuid::from_u128(2);

fn add(item: Uuid, name: &str) -> InventoryCommand {
    let unit = "l".to_owned();
    let name = name.to_owned();
    InventoryCommand::AddItem(AddItem { item, name, unit, reorder_level: 0 })
}

fn receive(item: Uuid, qty: i64) -> InventoryCommand {
    let site = "north".to_owned();
    InventoryCommand::ReceiveStock(ReceiveStock { item, site, qty, note: None })
}

fn consume(item: Uuid, qty: i64) -> InventoryCommand {
    InventoryCommand::ConsumeStock(ConsumeStock { item, site: "north".to_owned(), qty })
}

fn north(replica: &Replica<Inventory>, item: Uuid) -> Option<(String, i64)> {
    let stream = stream_name("item", &item);
    let item = replica.confirmed_stream(&stream).state?;
    Some((item.name.clone(), item.at("north")))
}

/// Milk, 3 at north, and rice, known to two replicas that then go offline: `b` uses all the
/// milk; `a` uses two, then receives and uses rice, and renames the milk.
fn last_milk() -> (MemoryLog<Inventory>, Replica<Inventory>, Replica<Inventory>, Vec<Uuid>) {
    let mut log = MemoryLog::default();
    given(&mut log, &[add(MILK, "Milk"), receive(MILK, 3), add(RICE, "Rice")]);
    let (mut a, mut b) = (Replica::new(), Replica::new());
    pull(&log, &mut a);
    pull(&log, &mut b);
    queue(&mut b, 100, &[consume(MILK, 3)]);
    let name = "Whole milk".into();
    let rename = InventoryCommand::RenameItem(RenameItem { item: MILK, name, from: None });
    let queued =
        queue(&mut a, 200, &[consume(MILK, 2), receive(RICE, 5), consume(RICE, 1), rename]);
    (log, a, b, queued)
}

#[test]
fn the_last_units_refused_on_rebase_do_not_block_later_commands() {
    let (mut log, mut a, mut b, queued) = last_milk();
    push(&mut log, &mut b);
    pull(&log, &mut b);
    let why = reason(&log, &consume(MILK, 2));

    let rebased = pull(&log, &mut a);

    assert_eq!(rebased.rejected, [queued[0]]);
    assert_eq!(why.code, "insufficient_stock");
    assert_eq!(a.rejected(), [rejected(queued[0], &consume(MILK, 2), why)]);
    assert_eq!(ids(a.pending()), &queued[1..]);
    assert_eq!(a.status(&queued[0]), Some(Status::Rejected));
    let pushed = push(&mut log, &mut a);
    assert_eq!(pushed, Rebased::default(), "the server accepts the rest");
    pull(&log, &mut a);
    pull(&log, &mut b);
    for id in &queued[1..] {
        assert_eq!(a.status(id), Some(Status::Accepted));
    }
    assert!(a.pending().is_empty());
    assert_eq!(north(&a, MILK), Some(("Whole milk".into(), 0)));
    assert_eq!(north(&a, RICE), Some(("Rice".into(), 4)));
    assert_eq!(a.confirmed_views(), b.confirmed_views());
}

#[test]
fn the_last_units_refused_by_the_server_do_not_block_later_commands() {
    let (mut log, mut a, mut b, queued) = last_milk();
    push(&mut log, &mut b);
    let why = reason(&log, &consume(MILK, 2));

    let answered = push(&mut log, &mut a);

    assert_eq!(answered.rejected, [queued[0]]);
    assert_eq!(a.rejected(), [rejected(queued[0], &consume(MILK, 2), why)]);
    assert_eq!(ids(a.pending()), &queued[1..]);
    assert!(a.outbox().is_empty(), "the rest were accepted");
    let received = pull(&log, &mut a);
    assert!(received.rejected.is_empty());
    assert!(a.pending().is_empty());
    assert_eq!(north(&a, MILK), Some(("Whole milk".into(), 0)));
    assert_eq!(north(&a, RICE), Some(("Rice".into(), 4)));
}

const ADA: Uuid = Uuid::from_u128(1);
const GRACE: Uuid = Uuid::from_u128(2);

fn withdraw(account: Uuid, amount: i64) -> BankCommand {
    BankCommand::Withdraw(Withdraw { account, amount, reference: "cash".into() })
}

fn deposit(account: Uuid, amount: i64) -> BankCommand {
    BankCommand::Deposit(Deposit { account, amount, reference: "pay".into() })
}

fn balance(replica: &Replica<Bank>, account: Uuid) -> Option<i64> {
    let stream = stream_name("account", &account);
    Some(replica.confirmed_stream(&stream).state?.balance)
}

#[test]
fn an_overdraft_refused_on_rebase_does_not_block_the_commands_around_it() {
    // Given Ada with 5 cents and Grace with none, known to two replicas.
    let mut log = MemoryLog::default();
    let open = |account, owner: &str| {
        BankCommand::OpenAccount(OpenAccount { account, owner: owner.into() })
    };
    given(&mut log, &[open(ADA, "Ada"), deposit(ADA, 5), open(GRACE, "Grace")]);
    let (mut a, mut b) = (Replica::<Bank>::new(), Replica::<Bank>::new());
    pull(&log, &mut a);
    pull(&log, &mut b);
    // When b takes 4 from Ada while a, offline, takes 3 from her among other commands.
    queue(&mut b, 100, &[withdraw(ADA, 4)]);
    let refund = BankCommand::Transfer(Transfer {
        from: GRACE,
        to: ADA,
        amount: 1,
        reference: "refund".into(),
    });
    let commands = [deposit(GRACE, 2), withdraw(ADA, 3), refund, withdraw(ADA, 2)];
    let queued = queue(&mut a, 200, &commands);
    push(&mut log, &mut b);
    let why = reason(&log, &withdraw(ADA, 3));
    let rebased = pull(&log, &mut a);

    // Then only the overdraft is refused; the commands before and after it carry on.
    assert_eq!(why.code, "insufficient_funds");
    assert_eq!(rebased.rejected, [queued[1]]);
    assert_eq!(a.rejected(), [rejected(queued[1], &withdraw(ADA, 3), why)]);
    assert_eq!(ids(a.pending()), [queued[0], queued[2], queued[3]]);
    assert_eq!(push(&mut log, &mut a), Rebased::default());
    pull(&log, &mut a);
    assert!(a.pending().is_empty());
    assert_eq!((balance(&a, ADA), balance(&a, GRACE)), (Some(0), Some(1)));
}

/// Ada with nothing and Grace with 5 cents; a replica moves Grace's 5 cents to Ada, has the
/// server accept it, then spends them from Ada's account before it has seen the transfer.
fn refund_then_spend() -> (MemoryLog<Bank>, Replica<Bank>, Uuid, Uuid) {
    let mut log = MemoryLog::default();
    let open = |account, owner: &str| {
        BankCommand::OpenAccount(OpenAccount { account, owner: owner.into() })
    };
    given(&mut log, &[open(ADA, "Ada"), open(GRACE, "Grace"), deposit(GRACE, 5)]);
    let mut replica = Replica::<Bank>::new();
    pull(&log, &mut replica);
    let refund = BankCommand::Transfer(Transfer {
        from: GRACE,
        to: ADA,
        amount: 5,
        reference: "refund".into(),
    });
    let transfer = queue(&mut replica, 100, &[refund])[0];
    assert_eq!(push(&mut log, &mut replica), Rebased::default());
    let spend = queue(&mut replica, 200, &[withdraw(ADA, 5)])[0];
    (log, replica, transfer, spend)
}

#[test]
fn a_page_ending_inside_a_command_does_not_refuse_the_commands_after_it() {
    let (mut log, mut replica, transfer, spend) = refund_then_spend();

    // The server's page ends between the transfer's two events.
    let first = &log.after(replica.position())[..1];
    let rebased = replica.receive(first).expect("no gap");

    assert!(rebased.rejected.is_empty(), "refused: {:?}", replica.rejected());
    assert!(!rebased.accepted.contains(&transfer), "only half of the transfer is confirmed");
    assert_eq!(ids(replica.pending()), [transfer, spend]);
    let ada = stream_name("account", &ADA);
    assert_eq!(replica.stream(&ada).state.map(|a| a.balance), Some(0), "5 in, 5 out");
    let again = replica.execute(withdraw(ADA, 5), meta(transfer, "clerk", 0));
    assert_eq!(again.map(|events| events.len()), Ok(2), "the transfer's events, both");

    let rest = log.after(replica.position()).to_vec();
    let rebased = replica.receive(&rest).expect("no gap");
    assert_eq!(rebased.accepted, [transfer]);
    assert_eq!(ids(replica.pending()), [spend]);
    assert_eq!(push(&mut log, &mut replica), Rebased::default());
    pull(&log, &mut replica);
    assert_eq!(replica.status(&spend), Some(Status::Accepted));
    assert_eq!((balance(&replica, ADA), balance(&replica, GRACE)), (Some(0), Some(0)));
}

#[test]
fn events_arriving_one_by_one_confirm_a_command_once_all_have_arrived() {
    let (log, mut replica, transfer, spend) = refund_then_spend();
    let mut accepted = Vec::new();
    while replica.position() < log.head() {
        let next = &log.after(replica.position())[..1];
        let rebased = replica.receive(next).expect("no gap");
        assert!(rebased.rejected.is_empty(), "refused: {:?}", replica.rejected());
        accepted.extend(rebased.accepted);
    }
    assert_eq!(accepted, [transfer]);
    assert_eq!(replica.status(&transfer), Some(Status::Accepted));
    assert_eq!(ids(replica.pending()), [spend]);
}

#[test]
fn a_command_that_records_nothing_is_accepted_once_the_server_answers() {
    // Given "Buy milk", active, known to a replica.
    let milk = Uuid::from_u128(1);
    let mut log = MemoryLog::<Todo>::default();
    given(&mut log, &[TodoCommand::AddTodo { todo: milk, title: "Buy milk".into() }]);
    let mut replica = Replica::<Todo>::new();
    pull(&log, &mut replica);
    // When it reopens the milk, which asks for what already holds, and pushes.
    let reopen = TodoCommand::ToggleTodo { todo: milk, completed: false };
    let reopened = queue(&mut replica, 100, &[reopen])[0];
    assert!(replica.pending()[0].events.is_empty(), "reopening an active to-do records nothing");
    let answered = push(&mut log, &mut replica);

    // Then the server's answer settles it: no event will ever arrive to confirm it.
    assert_eq!(log.head(), 1);
    assert_eq!(answered, Rebased { accepted: vec![reopened], rejected: Vec::new() });
    assert_eq!(replica.status(&reopened), Some(Status::Accepted));
    assert!(replica.pending().is_empty());
    assert!(replica.outbox().is_empty(), "nothing is sent again");
}
