//! Random commands of the inventory, the bank and the to-do list, and random ways of syncing
//! them.
//!
//! The id pools are small (three items at two sites, three accounts, three to-dos) and so are
//! quantities and amounts, so commands collide and many are refused; some are invalid outright
//! (empty names and titles, overlong ones, quantities below one, a transfer to the same
//! account). The to-do lists that `ToggleAll` and `ClearCompleted` name are drawn from the
//! pool, with repeats, and may be empty.

use annals_bank::{
    Bank, BankCommand, ChangeCreditLine, CloseAccount, Deposit, OpenAccount, Transfer, Withdraw,
};
use annals_core::{Domain, Uuid, stream_name};
use annals_inventory::{
    AddItem, ConsumeStock, CountStock, Inventory, InventoryCommand, ReceiveStock, RenameItem,
    RequestReorder, RetireItem,
};
use annals_todo::{Todo, TodoCommand};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::Union;

/// A domain whose commands can be drawn at random.
pub trait Model: Domain {
    /// Any command over the id pool, valid or not.
    fn command() -> BoxedStrategy<Self::Command>;

    /// Every stream a pooled command can name.
    fn pool() -> Vec<String>;

    /// Commands that create every pooled entity with a little in it (stock, money), so that
    /// the commands after them are mostly valid and often compete for the same few units.
    fn seed() -> Vec<Self::Command>;
}

/// How many entities (items, accounts, to-dos) the commands share.
const POOL: u128 = 3;

fn pooled() -> impl Strategy<Value = Uuid> {
    (1..=POOL).prop_map(Uuid::from_u128)
}

fn streams_of(category: &str) -> Vec<String> {
    (1..=POOL).map(|id| stream_name(category, &Uuid::from_u128(id))).collect()
}

/// Mostly a valid name, sometimes an empty or an overlong one.
fn name(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        18 => select(valid).prop_map(String::from),
        1 => Just(" ".to_owned()),
        1 => Just("x".repeat(101)),
    ]
}

/// Mostly a few units, sometimes zero or less.
fn units(most: i64) -> impl Strategy<Value = i64> {
    prop_oneof![1 => -1..=0i64, 12 => 1..=most]
}

fn site() -> impl Strategy<Value = String> {
    let sites: &[&str] = &["north", "south", " south ", ""];
    prop_oneof![12 => select(&sites[..3]), 1 => select(&sites[3..])].prop_map(String::from)
}

impl Model for Inventory {
    fn command() -> BoxedStrategy<InventoryCommand> {
        let names = &["Milk", " Bread ", "Rice"];
        let add = (pooled(), name(names), select(&["each", "kg", "each", "kg", ""][..]), -1..=6i64);
        let receive = (pooled(), site(), units(4), option::of(select(&["crate 7", " "][..])));
        prop_oneof![
            1 => add.prop_map(|(item, name, unit, reorder_level)| {
                InventoryCommand::AddItem(AddItem { item, name, unit: unit.into(), reorder_level })
            }),
            1 => (pooled(), name(names), option::weighted(0.2, name(names))).prop_map(
                |(item, name, from)| InventoryCommand::RenameItem(RenameItem { item, name, from })
            ),
            4 => receive.prop_map(|(item, site, qty, note)| {
                let note = note.map(String::from);
                InventoryCommand::ReceiveStock(ReceiveStock { item, site, qty, note })
            }),
            5 => (pooled(), site(), units(3)).prop_map(|(item, site, qty)| {
                InventoryCommand::ConsumeStock(ConsumeStock { item, site, qty })
            }),
            2 => (pooled(), site(), -1..=5i64, option::weighted(0.2, 0..=7i64)).prop_map(
                |(item, site, counted, from)| {
                    InventoryCommand::CountStock(CountStock { item, site, counted, from })
                }
            ),
            1 => pooled().prop_map(|item| InventoryCommand::RetireItem(RetireItem { item })),
            1 => (pooled(), site()).prop_map(|(item, site)| {
                InventoryCommand::RequestReorder(RequestReorder { item, site })
            }),
        ]
        .boxed()
    }

    fn pool() -> Vec<String> {
        streams_of(Self::CATEGORY)
    }

    fn seed() -> Vec<InventoryCommand> {
        let mut commands = Vec::new();
        for item in (1..=POOL).map(Uuid::from_u128) {
            commands.push(InventoryCommand::AddItem(AddItem {
                item,
                name: format!("Item {item}"),
                unit: "each".into(),
                reorder_level: 2,
            }));
            for (site, qty) in [("north", 4), ("south", 3)] {
                let site = site.into();
                let receive = ReceiveStock { item, site, qty, note: None };
                commands.push(InventoryCommand::ReceiveStock(receive));
            }
        }
        commands
    }
}

fn reference() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => select(&["", "rent", " lunch "][..]).prop_map(String::from),
        1 => Just("r".repeat(201)),
    ]
}

impl Model for Bank {
    fn command() -> BoxedStrategy<BankCommand> {
        let owners = &["Ada", "Grace", " Edsger "];
        let transfer = (pooled(), pooled(), units(4), reference());
        prop_oneof![
            1 => (pooled(), name(owners)).prop_map(|(account, owner)| {
                BankCommand::OpenAccount(OpenAccount { account, owner })
            }),
            4 => (pooled(), units(4), reference()).prop_map(|(account, amount, reference)| {
                BankCommand::Deposit(Deposit { account, amount, reference })
            }),
            4 => (pooled(), units(4), reference()).prop_map(|(account, amount, reference)| {
                BankCommand::Withdraw(Withdraw { account, amount, reference })
            }),
            1 => (pooled(), -1..=4i64, option::weighted(0.2, 0..=4i64)).prop_map(
                |(account, limit, from)| {
                    BankCommand::ChangeCreditLine(ChangeCreditLine { account, limit, from })
                }
            ),
            4 => transfer.prop_map(|(from, to, amount, reference)| {
                BankCommand::Transfer(Transfer { from, to, amount, reference })
            }),
            1 => pooled().prop_map(|account| BankCommand::CloseAccount(CloseAccount { account })),
        ]
        .boxed()
    }

    fn pool() -> Vec<String> {
        streams_of(Self::CATEGORY)
    }

    fn seed() -> Vec<BankCommand> {
        let mut commands = Vec::new();
        for account in (1..=POOL).map(Uuid::from_u128) {
            let owner = format!("Owner {account}");
            commands.push(BankCommand::OpenAccount(OpenAccount { account, owner }));
            let reference = "opening".into();
            let deposit = Deposit { account, amount: 5, reference };
            commands.push(BankCommand::Deposit(deposit));
        }
        commands
    }
}

/// Mostly a valid title, sometimes an empty, a blank or an overlong one.
fn title() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => select(&["Buy milk", " Bake bread ", "Boil eggs"][..]).prop_map(String::from),
        1 => Just(String::new()),
        1 => Just(" \t ".to_owned()),
        1 => Just("t".repeat(201)),
    ]
}

/// To-dos as a UI lists them: from the pool, sometimes one twice, sometimes none.
fn listed() -> impl Strategy<Value = Vec<Uuid>> {
    vec(pooled(), 0..=4)
}

impl Model for Todo {
    fn command() -> BoxedStrategy<TodoCommand> {
        prop_oneof![
            1 => (pooled(), title()).prop_map(|(todo, title)| TodoCommand::AddTodo { todo, title }),
            2 => (pooled(), title()).prop_map(|(todo, title)| TodoCommand::EditTodo { todo, title }),
            4 => (pooled(), any::<bool>()).prop_map(|(todo, completed)| {
                TodoCommand::ToggleTodo { todo, completed }
            }),
            3 => (listed(), any::<bool>()).prop_map(|(todos, completed)| {
                TodoCommand::ToggleAll { todos, completed }
            }),
            2 => listed().prop_map(|todos| TodoCommand::ClearCompleted { todos }),
            1 => pooled().prop_map(|todo| TodoCommand::DeleteTodo { todo }),
        ]
        .boxed()
    }

    fn pool() -> Vec<String> {
        streams_of(Self::CATEGORY)
    }

    fn seed() -> Vec<TodoCommand> {
        let mut commands = Vec::new();
        for todo in (1..=POOL).map(Uuid::from_u128) {
            commands.push(TodoCommand::AddTodo { todo, title: format!("To-do {todo}") });
        }
        // One completed, so that clearing the completed ones has something to delete.
        commands.push(TodoCommand::ToggleTodo { todo: Uuid::from_u128(POOL), completed: true });
        commands
    }
}

/// The seed (mostly) and then up to `most` commands.
pub fn seeded<D: Model>(most: usize) -> impl Strategy<Value = Vec<D::Command>> {
    let seed = prop_oneof![6 => Just(D::seed()), 1 => Just(Vec::new())];
    (seed, commands::<D>(most)).prop_map(|(mut seed, commands)| {
        seed.extend(commands);
        seed
    })
}

/// Up to `most` commands.
pub fn commands<D: Model>(most: usize) -> impl Strategy<Value = Vec<D::Command>> {
    vec(D::command(), 0..=most)
}

/// Commands for a log, some of them sent again under the id of an earlier one (`Some`), as a
/// client retrying a push does; the command sent again may differ from the first.
pub fn submissions<D: Model>() -> impl Strategy<Value = Vec<(D::Command, Option<Index>)>> {
    let again = prop_oneof![3 => Just(None), 1 => any::<Index>().prop_map(Some)];
    vec((D::command(), again), 0..=40)
}

/// One step of a sync session between replicas and the server.
#[derive(Clone, Debug)]
pub enum Step<C> {
    /// A replica runs a new command.
    Execute {
        /// Which replica.
        replica: usize,
        /// The command.
        command: C,
    },
    /// A replica pushes its outbox; when `lost`, the server decides it but the answer never
    /// arrives.
    Push {
        /// Which replica.
        replica: usize,
        /// Whether the answer is lost.
        lost: bool,
    },
    /// A replica pulls at most `limit` events, starting `back` events before its position.
    Pull {
        /// Which replica.
        replica: usize,
        /// How many events it has seen to ask for again.
        back: u64,
        /// The most events to take.
        limit: usize,
    },
    /// Another client's command reaches the server.
    Server {
        /// The command.
        command: C,
    },
    /// A replica is saved, serialized, and restored (the page is reloaded).
    Reload {
        /// Which replica.
        replica: usize,
    },
    /// A replica undoes its last command.
    Undo {
        /// Which replica.
        replica: usize,
    },
    /// A replica redoes the last command it undid.
    Redo {
        /// Which replica.
        replica: usize,
    },
}

/// A sync session: commands recorded while everyone was online, the commands each replica
/// then runs offline, and the steps that follow.
#[derive(Clone, Debug)]
pub struct Session<C> {
    /// Commands the server records before anyone goes offline (mostly the seed, then random
    /// ones); every replica pulls them.
    pub prelude: Vec<C>,
    /// Per replica, the commands it runs offline.
    pub offline: Vec<Vec<C>>,
    /// What happens next, in order.
    pub steps: Vec<Step<C>>,
}

/// A session of 2 or 3 replicas; `reloads` says whether replicas are reloaded on the way.
pub fn session<D: Model>(reloads: bool) -> impl Strategy<Value = Session<D::Command>> {
    (2..=3usize).prop_flat_map(move |replicas| {
        let prelude = seeded::<D>(6);
        let offline = vec(vec(D::command(), 0..=8), replicas);
        let steps = vec(step::<D>(replicas, reloads), 0..=30);
        (prelude, offline, steps).prop_map(|(prelude, offline, steps)| Session {
            prelude,
            offline,
            steps,
        })
    })
}

/// One step for one of `replicas` replicas.
pub fn step<D: Model>(replicas: usize, reloads: bool) -> BoxedStrategy<Step<D::Command>> {
    let execute = (0..replicas, D::command())
        .prop_map(|(replica, command)| Step::Execute { replica, command })
        .boxed();
    let push = (0..replicas, proptest::bool::weighted(0.2))
        .prop_map(|(replica, lost)| Step::Push { replica, lost })
        .boxed();
    let pull = (0..replicas, prop_oneof![3 => Just(0), 1 => 1..=3u64], 0..=5usize)
        .prop_map(|(replica, back, limit)| Step::Pull { replica, back, limit })
        .boxed();
    let server = D::command().prop_map(|command| Step::Server { command }).boxed();
    let undo = (0..replicas).prop_map(|replica| Step::Undo { replica }).boxed();
    let redo = (0..replicas).prop_map(|replica| Step::Redo { replica }).boxed();
    let mut steps = vec![(2, execute), (3, push), (4, pull), (1, server), (1, undo), (1, redo)];
    if reloads {
        let reload = (0..replicas).prop_map(|replica| Step::Reload { replica }).boxed();
        steps.push((2, reload));
    }
    Union::new_weighted(steps).boxed()
}

/// One device's command and its undo among other devices' commands: the device runs the
/// command, the steps in `before` happen, the device undoes the command, the steps in `after`
/// happen. Only the other devices (replicas 1 and up) and other clients run commands.
#[derive(Clone, Debug)]
pub struct UndoSession<C> {
    /// Commands the server records before anyone goes offline; every replica pulls them.
    pub prelude: Vec<C>,
    /// Per other replica, the commands it runs offline.
    pub offline: Vec<Vec<C>>,
    /// The device's command.
    pub command: C,
    /// What happens between the command and its undo.
    pub before: Vec<Step<C>>,
    /// What happens after the undo.
    pub after: Vec<Step<C>>,
}

/// A session of the device (replica 0) and 1 or 2 other replicas around one undo.
pub fn undo_session<D: Model>() -> impl Strategy<Value = UndoSession<D::Command>> {
    (2..=3usize).prop_flat_map(|replicas| {
        let offline = vec(vec(D::command(), 0..=4), replicas - 1);
        let steps = || vec(others_step::<D>(replicas), 0..=12);
        (seeded::<D>(4), offline, D::command(), steps(), steps()).prop_map(
            |(prelude, offline, command, before, after)| UndoSession {
                prelude,
                offline,
                command,
                before,
                after,
            },
        )
    })
}

/// A step in which only the other replicas (1 and up) run commands; any replica pushes,
/// pulls or is reloaded.
fn others_step<D: Model>(replicas: usize) -> BoxedStrategy<Step<D::Command>> {
    let execute = (1..replicas, D::command())
        .prop_map(|(replica, command)| Step::Execute { replica, command })
        .boxed();
    let push = (0..replicas, proptest::bool::weighted(0.2))
        .prop_map(|(replica, lost)| Step::Push { replica, lost })
        .boxed();
    let pull = (0..replicas, prop_oneof![3 => Just(0), 1 => 1..=3u64], 0..=5usize)
        .prop_map(|(replica, back, limit)| Step::Pull { replica, back, limit })
        .boxed();
    let server = D::command().prop_map(|command| Step::Server { command }).boxed();
    let reload = (0..replicas).prop_map(|replica| Step::Reload { replica }).boxed();
    Union::new_weighted(vec![(3, execute), (3, push), (4, pull), (2, server), (1, reload)]).boxed()
}

/// What one replica does next while another client writes to the same server.
#[derive(Clone, Debug)]
pub enum Retry<C> {
    /// Runs a new command.
    Execute(C),
    /// Runs `C` under the id of a command it already ran (picked by the index).
    Again(Index, C),
    /// Pushes its outbox, then sends it again and takes the answer twice.
    Push,
    /// Pulls at most this many events, then takes them in again.
    Pull(usize),
    /// Another client's command reaches the server.
    Server(C),
    /// Takes in again the answer to an earlier push (picked by the index).
    Reacknowledge(Index),
    /// Takes in again the events of an earlier pull (picked by the index).
    Rereceive(Index),
}

/// A single replica's steps, with repeats of everything a retrying client may repeat.
pub fn retries<D: Model>() -> impl Strategy<Value = Vec<Retry<D::Command>>> {
    let retry = prop_oneof![
        4 => D::command().prop_map(Retry::Execute),
        2 => (any::<Index>(), D::command()).prop_map(|(index, command)| Retry::Again(index, command)),
        2 => Just(Retry::Push),
        2 => (0..=5usize).prop_map(Retry::Pull),
        1 => D::command().prop_map(Retry::Server),
        1 => any::<Index>().prop_map(Retry::Reacknowledge),
        1 => any::<Index>().prop_map(Retry::Rereceive),
    ];
    vec(retry, 0..=40)
}
