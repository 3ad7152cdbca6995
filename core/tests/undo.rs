//! Undo on a replica: an undo is tied to the command it undoes. It waits in the queue while
//! that command is pending, is decided again from the states the server decided the command
//! on, and is refused with it; a redo is tied to the undo it takes back in the same way.
//!
//! The domain is a jar of sweets: put some in, take some out (never more than it holds), or
//! count them (the count replaces what it held); each is undone by the opposite movement.

#![allow(missing_docs, clippy::unwrap_used)]

use annals_core::protocol::CommandResult;
use annals_core::{
    Change, CommandData, Context, Domain, Event, Json, MemoryLog, Rebased, Rejection, Replica,
    Status, Tie, Uuid, json, meta, stream_name,
};

#[derive(Clone, Debug, PartialEq, annals_core::Command)]
pub enum JarCommand {
    Put { jar: Uuid, n: i64 },
    Take { jar: Uuid, n: i64 },
    Count { jar: Uuid, counted: i64 },
}

#[derive(Clone, Debug, PartialEq, Event)]
pub enum JarEvent {
    Put { n: i64 },
    Taken { n: i64 },
    Counted { counted: i64 },
}

#[derive(Clone, Debug, PartialEq, annals_core::Rejection)]
pub enum JarRejection {
    #[rejection("The jar holds {held}; {n} cannot be taken.")]
    TooFew { held: i64, n: i64 },
}

#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct Sweets {
    pub held: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Jars;

impl Domain for Jars {
    const NAME: &'static str = "jars";
    const CATEGORY: &'static str = "jar";
    const STATE_VERSION: u32 = 1;
    type Command = JarCommand;
    type Event = JarEvent;
    type State = Sweets;
    type Rejection = JarRejection;

    fn streams(command: &JarCommand) -> Vec<String> {
        let (JarCommand::Put { jar, .. }
        | JarCommand::Take { jar, .. }
        | JarCommand::Count { jar, .. }) = command;
        vec![stream_name(Self::CATEGORY, jar)]
    }

    fn decide(
        command: &JarCommand,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<JarEvent>>, JarRejection> {
        let jar = context.stream(0);
        let event = match *command {
            JarCommand::Put { n, .. } => JarEvent::Put { n },
            JarCommand::Take { n, .. } if n > jar.state.held => {
                return Err(JarRejection::TooFew { held: jar.state.held, n });
            }
            JarCommand::Take { n, .. } => JarEvent::Taken { n },
            JarCommand::Count { counted, .. } => JarEvent::Counted { counted },
        };
        Ok(vec![jar.append(event)])
    }

    fn evolve(sweets: &mut Sweets, event: &JarEvent) {
        match *event {
            JarEvent::Put { n } => sweets.held += n,
            JarEvent::Taken { n } => sweets.held -= n,
            JarEvent::Counted { counted } => sweets.held = counted,
        }
    }

    /// The opposite movement; a count that changed nothing cannot be undone.
    fn compensate(command: &JarCommand, before: &Context<'_, Self>) -> Option<JarCommand> {
        Some(match *command {
            JarCommand::Put { jar, n } => JarCommand::Take { jar, n },
            JarCommand::Take { jar, n } => JarCommand::Put { jar, n },
            JarCommand::Count { jar, counted } => match counted - before.stream(0).state.held {
                0 => return None,
                n if n > 0 => JarCommand::Take { jar, n },
                n => JarCommand::Put { jar, n: -n },
            },
        })
    }
}

const JAR: Uuid = Uuid::from_u128(7);

fn put(n: i64) -> JarCommand {
    JarCommand::Put { jar: JAR, n }
}

fn take(n: i64) -> JarCommand {
    JarCommand::Take { jar: JAR, n }
}

fn count(counted: i64) -> JarCommand {
    JarCommand::Count { jar: JAR, counted }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0xD0_0000 + n)
}

/// The server and one device, both holding `held` sweets.
fn jar_of(held: i64) -> (MemoryLog<Jars>, Replica<Jars>) {
    let mut log = MemoryLog::default();
    another_device(&mut log, 0, put(held));
    let mut device = Replica::new();
    pull(&log, &mut device);
    (log, device)
}

/// Another device's command reaches the server.
fn another_device(log: &mut MemoryLog<Jars>, n: u128, command: JarCommand) {
    let result = log.submit(&command, &meta(id(0xE00 + n), "other", 0), None);
    assert!(matches!(result, CommandResult::Accepted { .. }), "{result:?}");
}

/// The device runs `command` under the id `n`.
fn run(device: &mut Replica<Jars>, n: u128, command: JarCommand) -> Uuid {
    device.execute(command, meta(id(n), "me", 0)).unwrap();
    id(n)
}

fn undo(device: &mut Replica<Jars>, n: u128) -> Uuid {
    device.undo(meta(id(n), "me", 0)).unwrap();
    id(n)
}

fn redo(device: &mut Replica<Jars>, n: u128) -> Uuid {
    device.redo(meta(id(n), "me", 0)).unwrap();
    id(n)
}

/// The ids of the device's outbox, in order.
fn outbox(device: &Replica<Jars>) -> Vec<Uuid> {
    device.outbox().into_iter().map(|request| request.id).collect()
}

/// The device pushes its outbox to the server and takes in the answers.
fn push(log: &mut MemoryLog<Jars>, device: &mut Replica<Jars>) -> Rebased {
    let results: Vec<_> = device
        .outbox()
        .into_iter()
        .map(|request| {
            let command = JarCommand::decode(&request.command_type, &request.data).unwrap();
            log.submit(&command, &meta(request.id, "me", 0), None)
        })
        .collect();
    device.acknowledge(&results)
}

/// The device takes in every event of the server after its position.
fn pull(log: &MemoryLog<Jars>, device: &mut Replica<Jars>) -> Rebased {
    device.receive(log.after(device.position())).unwrap()
}

/// What the server's jar holds.
fn held(log: &MemoryLog<Jars>) -> i64 {
    log.state(&stream_name("jar", &JAR)).state.held
}

/// The device's code and message for a rejected command.
fn reason(device: &Replica<Jars>, id: Uuid) -> (String, String) {
    let rejected = device.rejected().iter().find(|r| r.id == id).unwrap();
    (rejected.code.clone(), rejected.message.clone())
}

#[test]
fn an_undo_waits_for_its_command_and_goes_next_once_the_server_accepted_it() {
    let (mut log, mut device) = jar_of(10);
    let three = run(&mut device, 1, put(3));
    let undone = undo(&mut device, 2);
    let after = run(&mut device, 3, put(1));

    assert_eq!(device.pending()[1].tie, Some(Tie::UndoOf(three)));
    assert_eq!(outbox(&device), [three], "the undo, and what follows it, wait");
    assert_eq!(push(&mut log, &mut device), Rebased::default());
    assert!(outbox(&device).is_empty(), "until the command's events arrive");
    assert_eq!(pull(&log, &mut device).accepted, [three]);
    assert_eq!(outbox(&device), [undone, after]);
    push(&mut log, &mut device);
    pull(&log, &mut device);

    assert_eq!(device.status(&undone), Some(Status::Accepted));
    assert_eq!(held(&log), 11);
    assert_eq!(device.confirmed_stream(&stream_name("jar", &JAR)).state.held, 11);
}

#[test]
fn commands_queued_after_a_waiting_undo_wait_with_it_so_the_server_keeps_their_order() {
    // Taking the 5 again holds only after the undo has put them back.
    let (mut log, mut device) = jar_of(5);
    run(&mut device, 1, take(5));
    undo(&mut device, 2);
    let again = run(&mut device, 3, take(5));

    for _ in 0..3 {
        push(&mut log, &mut device);
        pull(&log, &mut device);
    }

    assert_eq!(device.status(&again), Some(Status::Accepted));
    assert!(device.rejected().is_empty());
    assert_eq!(held(&log), 0);
}

#[test]
fn an_undo_is_refused_with_the_command_the_server_refuses_and_is_never_sent() {
    // Issue #17's third probe: offline, the device takes all 10 and undoes it, while another
    // device takes 5; then the device goes online.
    let (mut log, mut device) = jar_of(10);
    let all = run(&mut device, 1, take(10));
    let undone = undo(&mut device, 2);
    let later = run(&mut device, 3, put(1));
    another_device(&mut log, 1, take(5));

    let answered = push(&mut log, &mut device);

    assert_eq!(answered.rejected, [all, undone]);
    assert_eq!(reason(&device, undone), reason(&device, all));
    assert_eq!(reason(&device, all).0, "too_few");
    assert_eq!(outbox(&device), [later], "the undo is never sent");
    push(&mut log, &mut device);
    pull(&log, &mut device);
    assert!(log.events().iter().all(|e| e.meta.command != undone));
    assert_eq!(held(&log), 6, "5 left by the other device, and the 1 put in later");
    assert_eq!(device.can_undo_redo(), (true, false), "the refused undo leaves nothing to redo");
}

#[test]
fn an_undo_is_refused_with_the_command_a_rebase_refuses() {
    let (mut log, mut device) = jar_of(10);
    let all = run(&mut device, 1, take(10));
    let undone = undo(&mut device, 2);
    another_device(&mut log, 1, take(5));

    let rebased = pull(&log, &mut device);

    assert_eq!(rebased.rejected, [all, undone]);
    assert_eq!(reason(&device, undone), reason(&device, all));
    assert!(device.pending().is_empty());
    assert!(outbox(&device).is_empty());
    assert_eq!(device.can_undo_redo(), (false, false));
}

#[test]
fn a_redo_is_refused_with_the_undo_it_takes_back_so_a_command_never_runs_twice() {
    let (mut log, mut device) = jar_of(0);
    let five = run(&mut device, 1, put(5));
    push(&mut log, &mut device);
    pull(&log, &mut device);
    let undone = undo(&mut device, 2);
    let redone = redo(&mut device, 3);
    assert_eq!(device.pending()[1].tie, Some(Tie::RedoAfter(undone)));
    assert_eq!(outbox(&device), [undone]);
    another_device(&mut log, 1, take(3));

    let answered = push(&mut log, &mut device);

    assert_eq!(answered.rejected, [undone, redone]);
    assert_eq!(reason(&device, redone), reason(&device, undone));
    assert_eq!(device.status(&five), Some(Status::Accepted));
    assert_eq!(held(&log), 2, "the 5 put in once, less the 3 the other device took");
}

#[test]
fn an_undo_is_decided_again_from_the_states_the_server_decided_its_command_on() {
    // Offline, the device counts 8 where it knew of 10 and undoes the count; meanwhile another
    // device puts in 5. The server decides the count on 15: the undo puts back 7, not 2.
    let (mut log, mut device) = jar_of(10);
    let counted = run(&mut device, 1, count(8));
    let undone = undo(&mut device, 2);
    assert_eq!(device.pending()[1].command, put(2));
    another_device(&mut log, 1, put(5));

    push(&mut log, &mut device);
    pull(&log, &mut device);

    assert_eq!(device.status(&counted), Some(Status::Accepted));
    assert_eq!(device.pending()[0].command, put(7));
    assert_eq!(outbox(&device), [undone]);
    push(&mut log, &mut device);
    assert_eq!(held(&log), 15);
}

#[test]
fn an_undo_of_a_command_the_server_decided_to_change_nothing_is_refused() {
    let (mut log, mut device) = jar_of(10);
    run(&mut device, 1, count(8));
    let undone = undo(&mut device, 2);
    another_device(&mut log, 1, take(2));

    push(&mut log, &mut device);
    let rebased = pull(&log, &mut device);

    assert_eq!(rebased.rejected, [undone]);
    assert_eq!(reason(&device, undone).0, "not_undoable");
    assert!(outbox(&device).is_empty());
    assert_eq!(held(&log), 8);
}

#[test]
fn a_saved_replica_keeps_its_ties() {
    let (_, mut device) = jar_of(10);
    let three = run(&mut device, 1, put(3));
    let undone = undo(&mut device, 2);
    redo(&mut device, 3);

    let saved = json::to_string(&device.save());
    let (restored, stale) = Replica::<Jars>::restore(json::from_str(&saved).unwrap());

    assert!(!stale);
    let ties: Vec<_> = restored.pending().iter().map(|p| p.tie).collect();
    assert_eq!(ties, [None, Some(Tie::UndoOf(three)), Some(Tie::RedoAfter(undone))]);
    assert_eq!(outbox(&restored), [three]);
    assert_eq!(restored.can_undo_redo(), (true, false));
    assert!(saved.contains(r#""undo_of":"00000000-0000-0000-0000-000000d00001""#), "{saved}");
}

#[test]
fn a_refused_undo_of_an_accepted_command_leaves_the_command_standing() {
    let (mut log, mut device) = jar_of(0);
    let five = run(&mut device, 1, put(5));
    let undone = undo(&mut device, 2);
    push(&mut log, &mut device);
    pull(&log, &mut device);
    another_device(&mut log, 1, take(4));

    let answered = push(&mut log, &mut device);

    assert_eq!(answered.rejected, [undone]);
    assert_eq!(reason(&device, undone).0, "too_few");
    assert_eq!(device.status(&five), Some(Status::Accepted));
    assert_eq!(device.can_undo_redo(), (false, false));
    pull(&log, &mut device);
    assert_eq!(held(&log), 1);
}

#[test]
fn an_undo_that_no_longer_holds_before_it_is_sent_is_refused_for_its_own_reason() {
    let (mut log, mut device) = jar_of(0);
    run(&mut device, 1, put(5));
    let undone = undo(&mut device, 2);
    push(&mut log, &mut device);
    another_device(&mut log, 1, take(4));

    let rebased = pull(&log, &mut device);

    assert_eq!(rebased.rejected, [undone]);
    let why = Rejection::new("too_few", "The jar holds 1; 5 cannot be taken.");
    assert_eq!(reason(&device, undone), (why.code, why.message));
}
