//! The engine's laws, each written once over any [`Domain`] and checked for the inventory, the
//! bank and the to-do list, over random commands from small id pools so that commands collide
//! and many are refused:
//!
//! 1. Replaying the log equals the incremental fold, also after a trip through JSON.
//! 2. A snapshot plus the tail equals the full fold at every split; a snapshot of another
//!    reducer version is ignored; time travel equals a shorter fold.
//! 3. Replicas that work offline and sync in any interleaving converge on the server's state,
//!    and every command ends accepted or rejected, as the server (or a rebase) decided.
//! 4. A command refused on rebase never blocks the commands queued after it.
//! 5. One command id never yields events twice, however often it is sent or answered.
//! 6. A replica saved and restored is the same replica.
//! 7. An undo takes back its command's effect and nothing else, whatever other devices did
//!    meanwhile, and never takes effect without its command (over the inventory and the bank,
//!    whose compensations are written to commute).
//!
//! Sessions of laws 3 and 6 also undo and redo, so ties between undos and their commands are
//! kept through every sync and reload.

mod arbitrary;
mod rebase;
mod sync;
mod undo;

use std::collections::HashMap;

use annals_bank::Bank;
use annals_core::protocol::CommandResult;
use annals_core::{
    CommandData, Envelope, MemoryLog, Meta, Rebased, Rejection, Restored, Snapshot, Status,
    StreamState, Uuid, Version, ViewSet, meta,
};
use annals_inventory::Inventory;
use annals_todo::Todo;
use proptest::prelude::*;
use proptest::sample::Index;

use arbitrary::{Model, Retry, commands, retries, seeded, session, submissions, undo_session};
use sync::{Outcome, Seen, World, check_optimistic, fail};

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

fn command_id(n: usize) -> Uuid {
    Uuid::from_u128(0xC0DE_0000 + n as u128)
}

/// Records `commands` in a new log, folding each recorded event into stream states and views
/// as it is produced.
fn record<D: Model>(
    commands: &[D::Command],
) -> (MemoryLog<D>, HashMap<String, StreamState<D>>, ViewSet<D>) {
    let mut log = MemoryLog::<D>::default();
    let mut streams = HashMap::<String, StreamState<D>>::new();
    let mut views = ViewSet::<D>::default();
    for (n, command) in commands.iter().enumerate() {
        let meta = meta(command_id(n), "tester", 1_700_000_000_000 + n as i64);
        if let CommandResult::Accepted { events, .. } = log.submit(command, &meta, None) {
            for envelope in &events {
                streams.entry(envelope.stream.clone()).or_default().apply(envelope);
                views.apply(envelope);
            }
        }
    }
    (log, streams, views)
}

fn of_stream<'a, E>(events: &'a [Envelope<E>], stream: &str) -> Vec<&'a Envelope<E>> {
    events.iter().filter(|e| e.stream == stream).collect()
}

// Law 1.

fn replay_equals_incremental_fold<D: Model>(commands: Vec<D::Command>) -> Outcome {
    let (log, incremental, views) = record::<D>(&commands);
    let events = log.events();
    for stream in D::pool() {
        let replayed = StreamState::<D>::fold(of_stream(events, &stream));
        prop_assert_eq!(&replayed, &log.state(&stream), "stream {}", stream);
        let folded = incremental.get(&stream).cloned().unwrap_or_default();
        prop_assert_eq!(&replayed, &folded, "stream {}", stream);
        prop_assert_eq!(log.stream(&stream), of_stream(events, &stream));
    }
    prop_assert_eq!(&ViewSet::<D>::fold(events), &views);

    // The same log written as JSON and read back.
    let json = serde_json::to_string(events).map_err(fail)?;
    let decoded: Vec<Envelope<D::Event>> = serde_json::from_str(&json).map_err(fail)?;
    prop_assert_eq!(decoded.as_slice(), events);
    for stream in D::pool() {
        let replayed = StreamState::<D>::fold(of_stream(&decoded, &stream));
        prop_assert_eq!(&replayed, &log.state(&stream), "stream {}", stream);
    }
    prop_assert_eq!(&ViewSet::<D>::fold(&decoded), &views);

    // Read as plain JSON first, as a store or a relay does, then decoded by the domain.
    let raw: Vec<Envelope> = serde_json::from_str(&json).map_err(fail)?;
    let raw_again: Vec<Envelope> = events.iter().map(Envelope::to_raw).collect();
    prop_assert_eq!(&raw, &raw_again);
    let typed = raw.iter().map(Envelope::decode::<D::Event>);
    let typed: Vec<Envelope<D::Event>> = typed.collect::<Result<_, _>>().map_err(fail)?;
    prop_assert_eq!(typed.as_slice(), events);
    Ok(())
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn inventory_replay_equals_incremental_fold(commands in seeded::<Inventory>(40)) {
        replay_equals_incremental_fold::<Inventory>(commands)?;
    }

    #[test]
    fn bank_replay_equals_incremental_fold(commands in seeded::<Bank>(40)) {
        replay_equals_incremental_fold::<Bank>(commands)?;
    }

    #[test]
    fn todo_replay_equals_incremental_fold(commands in seeded::<Todo>(40)) {
        replay_equals_incremental_fold::<Todo>(commands)?;
    }
}

// Law 2.

fn snapshot_and_tail_equal_full_fold<D: Model>(commands: Vec<D::Command>) -> Outcome {
    let (log, _, _) = record::<D>(&commands);
    for stream in D::pool() {
        let events = log.stream(&stream);
        let full = StreamState::<D>::fold(events.iter().copied());
        for split in 0..=events.len() {
            let (head, tail) = events.split_at(split);
            let before = StreamState::<D>::fold(head.iter().copied());
            let at = StreamState::<D>::at(events.iter().copied(), split as Version);
            prop_assert_eq!(&at, &before, "{} at version {}", stream, split);

            let snapshot = before.snapshot();
            prop_assert!(snapshot.is_current());
            let json = serde_json::to_string(&snapshot).map_err(fail)?;
            let snapshot: Snapshot<D> = serde_json::from_str(&json).map_err(fail)?;
            let (restored, how) = snapshot.restore(tail.iter().copied());
            prop_assert_eq!((&restored, how), (&full, Restored::FromSnapshot));
            // Events the snapshot already holds are skipped.
            let (restored, how) = snapshot.restore(events.iter().copied());
            prop_assert_eq!((&restored, how), (&full, Restored::FromSnapshot));

            // Made by another reducer version, and holding a state folding the tail on top of
            // would get wrong: it must be ignored.
            let stale = Snapshot::<D> {
                state: full.state.clone(),
                version: split as Version,
                reducer_version: D::STATE_VERSION + 1,
            };
            prop_assert!(!stale.is_current());
            let (rebuilt, how) = stale.restore(events.iter().copied());
            prop_assert_eq!((&rebuilt, how), (&full, Restored::Rebuilt));
        }
        let beyond = StreamState::<D>::at(events.iter().copied(), events.len() as Version + 3);
        prop_assert_eq!(&beyond, &full);
    }
    let events = log.events();
    for position in 0..=log.head() {
        let at = ViewSet::<D>::at(events, position);
        let before = ViewSet::<D>::fold(&events[..position as usize]);
        prop_assert_eq!(&at, &before, "views at position {}", position);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn inventory_snapshot_and_tail_equal_full_fold(commands in seeded::<Inventory>(40)) {
        snapshot_and_tail_equal_full_fold::<Inventory>(commands)?;
    }

    #[test]
    fn bank_snapshot_and_tail_equal_full_fold(commands in seeded::<Bank>(40)) {
        snapshot_and_tail_equal_full_fold::<Bank>(commands)?;
    }

    #[test]
    fn todo_snapshot_and_tail_equal_full_fold(commands in seeded::<Todo>(40)) {
        snapshot_and_tail_equal_full_fold::<Todo>(commands)?;
    }
}

// Law 3: `World::play` checks every replica after every step (its optimistic state is the
// confirmed state with its pending commands decided again on top), then syncs everyone and
// checks that they converged on the server's state with one final status per command.

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn inventory_replicas_converge(session in session::<Inventory>(false)) {
        World::<Inventory>::play(&session)?;
    }

    #[test]
    fn bank_replicas_converge(session in session::<Bank>(false)) {
        World::<Bank>::play(&session)?;
    }

    #[test]
    fn todo_replicas_converge(session in session::<Todo>(false)) {
        World::<Todo>::play(&session)?;
    }
}

// Law 4. Every pull in `World` also checks that a rebase refuses exactly the commands that no
// longer hold and keeps every other one; `rebase` tells the same by example.

/// A replica pulls the server's head after queueing commands offline: what the rebase keeps,
/// the server then accepts in full, with the very events the replica showed.
fn refused_commands_never_block_the_rest<D: Model>(
    given: Vec<D::Command>,
    offline: Vec<D::Command>,
    others: Vec<D::Command>,
) -> Outcome {
    let mut world = World::<D>::new(1);
    for command in &given {
        world.write(command);
    }
    world.pull(0, 0, usize::MAX)?;
    for command in offline {
        world.execute(0, command)?;
    }
    for command in &others {
        world.write(command);
    }
    world.pull(0, 0, usize::MAX)?;
    let kept = world.replicas[0].pending().to_vec();
    let results = world.push(0, false)?;
    prop_assert_eq!(results.len(), kept.len());
    for (pending, result) in kept.iter().zip(&results) {
        let CommandResult::Accepted { id, events } = result else {
            return Err(fail(format!("the server refused a command the rebase kept: {result:?}")));
        };
        prop_assert_eq!(*id, pending.meta.command);
        let what = |e: &Envelope<D::Event>| (e.id, e.stream.clone(), e.version, e.event.clone());
        let recorded: Vec<_> = events.iter().map(what).collect();
        let shown: Vec<_> = pending.events.iter().map(what).collect();
        prop_assert_eq!(recorded, shown);
    }
    world.settle()?;
    world.check_converged()
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn inventory_refused_commands_never_block_the_rest(
        given in seeded::<Inventory>(6),
        offline in commands::<Inventory>(12),
        others in commands::<Inventory>(8),
    ) {
        refused_commands_never_block_the_rest::<Inventory>(given, offline, others)?;
    }

    #[test]
    fn bank_refused_commands_never_block_the_rest(
        given in seeded::<Bank>(6),
        offline in commands::<Bank>(12),
        others in commands::<Bank>(8),
    ) {
        refused_commands_never_block_the_rest::<Bank>(given, offline, others)?;
    }

    #[test]
    fn todo_refused_commands_never_block_the_rest(
        given in seeded::<Todo>(6),
        offline in commands::<Todo>(12),
        others in commands::<Todo>(8),
    ) {
        refused_commands_never_block_the_rest::<Todo>(given, offline, others)?;
    }
}

// Law 5.

/// The log records a command id once: sent again, even with another payload, it answers as
/// the first time and appends nothing.
fn the_log_records_a_command_id_once<D: Model>(
    submissions: Vec<(D::Command, Option<Index>)>,
) -> Outcome {
    let mut log = MemoryLog::<D>::default();
    let mut sent: Vec<(Meta, D::Command, CommandResult<D::Event>)> = Vec::new();
    let seed = D::seed().into_iter().map(|command| (command, None));
    for (n, (command, again)) in seed.chain(submissions).enumerate() {
        match again.filter(|_| !sent.is_empty()) {
            Some(index) => {
                let (first_meta, first, result) = &sent[index.index(sent.len())];
                let before = log.events().to_vec();
                let later = Meta { at: first_meta.at + 60_000, ..first_meta.clone() };
                prop_assert_eq!(&log.submit(first, &later, None), result);
                prop_assert_eq!(&log.submit(&command, &later, None), result);
                prop_assert_eq!(log.events(), before.as_slice());
            }
            None => {
                let meta = meta(command_id(n), "tester", n as i64);
                let result = log.submit(&command, &meta, None);
                sent.push((meta, command, result));
            }
        }
    }
    for (meta, _, result) in &sent {
        let events = log.events().iter().filter(|e| e.meta.command == meta.command);
        let recorded: Vec<Envelope<D::Event>> = events.cloned().collect();
        match result {
            CommandResult::Accepted { events, .. } => prop_assert_eq!(&recorded, events),
            CommandResult::Rejected { .. } => prop_assert!(recorded.is_empty()),
        }
    }
    Ok(())
}

/// Takes in `results` again: nothing changes.
fn acknowledge_again<D: Model>(
    world: &mut World<D>,
    results: &[CommandResult<D::Event>],
) -> Outcome {
    let ids = world.ids();
    let replica = &mut world.replicas[0];
    let before = Seen::of(replica, &ids);
    prop_assert_eq!(replica.acknowledge(results), Rebased::default());
    prop_assert_eq!(Seen::of(replica, &ids), before);
    Ok(())
}

/// Takes in `events` again: nothing changes.
fn receive_again<D: Model>(world: &mut World<D>, events: &[Envelope<D::Event>]) -> Outcome {
    let ids = world.ids();
    let replica = &mut world.replicas[0];
    let before = Seen::of(replica, &ids);
    let rebased = replica.receive(events).map_err(|gap| fail(format!("{gap:?}")))?;
    prop_assert_eq!(rebased, Rebased::default());
    prop_assert_eq!(Seen::of(replica, &ids), before);
    Ok(())
}

/// A replica takes each command once: running a known id again returns what it has for it and
/// adds nothing; a push sent twice is recorded once; answers and events taken in twice change
/// nothing.
fn a_replica_takes_each_command_once<D: Model>(
    given: Vec<D::Command>,
    retries: Vec<Retry<D::Command>>,
) -> Outcome {
    let mut world = World::<D>::new(1);
    for command in &given {
        world.write(command);
    }
    for retry in retries {
        match retry {
            Retry::Execute(command) => world.execute(0, command)?,
            Retry::Again(index, command) => {
                if world.admitted.is_empty() {
                    continue;
                }
                let (_, id) = world.admitted[index.index(world.admitted.len())];
                let ids = world.ids();
                let replica = &mut world.replicas[0];
                let expected = match replica.status(&id) {
                    Some(Status::Pending) => {
                        let pending = replica.pending().iter().find(|p| p.meta.command == id);
                        Ok(pending.map(|p| p.events.clone()).unwrap_or_default())
                    }
                    Some(Status::Rejected) => {
                        let entry = sync::rejected_entry(replica, id)?;
                        Err(Rejection::new(&entry.code, entry.message.clone()))
                    }
                    Some(Status::Accepted) => {
                        let events = world.log.events().iter();
                        Ok(events.filter(|e| e.meta.command == id).cloned().collect())
                    }
                    None => return Err(fail(format!("the replica forgot {id}"))),
                };
                let before = Seen::of(replica, &ids);
                let result = replica.execute(command, meta(id, "replica-0", 0));
                prop_assert_eq!(result, expected);
                prop_assert_eq!(Seen::of(replica, &ids), before);
            }
            Retry::Push => {
                let outbox = world.replicas[0].outbox();
                let results = world.push(0, false)?;
                let head = world.log.head();
                for (request, result) in outbox.into_iter().zip(&results) {
                    let command =
                        D::Command::decode(&request.command_type, &request.data).map_err(fail)?;
                    let again = world.log.submit(&command, &meta(request.id, "replica-0", 0), None);
                    prop_assert_eq!(&again, result);
                }
                prop_assert_eq!(world.log.head(), head);
                acknowledge_again(&mut world, &results)?;
            }
            Retry::Pull(limit) => {
                world.pull(0, 0, limit)?;
                let events = world.received.last().cloned().unwrap_or_default();
                receive_again(&mut world, &events)?;
            }
            Retry::Server(command) => world.write(&command),
            Retry::Reacknowledge(index) => {
                if !world.acknowledged.is_empty() {
                    let results = world.acknowledged[index.index(world.acknowledged.len())].clone();
                    acknowledge_again(&mut world, &results)?;
                }
            }
            Retry::Rereceive(index) => {
                if !world.received.is_empty() {
                    let events = world.received[index.index(world.received.len())].clone();
                    receive_again(&mut world, &events)?;
                }
            }
        }
        check_optimistic(&world.replicas[0])?;
    }
    world.settle()?;
    world.check_converged()
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn inventory_log_records_a_command_id_once(submissions in submissions::<Inventory>()) {
        the_log_records_a_command_id_once::<Inventory>(submissions)?;
    }

    #[test]
    fn bank_log_records_a_command_id_once(submissions in submissions::<Bank>()) {
        the_log_records_a_command_id_once::<Bank>(submissions)?;
    }

    #[test]
    fn todo_log_records_a_command_id_once(submissions in submissions::<Todo>()) {
        the_log_records_a_command_id_once::<Todo>(submissions)?;
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn inventory_replica_takes_each_command_once(
        given in seeded::<Inventory>(4),
        retries in retries::<Inventory>(),
    ) {
        a_replica_takes_each_command_once::<Inventory>(given, retries)?;
    }

    #[test]
    fn bank_replica_takes_each_command_once(
        given in seeded::<Bank>(4),
        retries in retries::<Bank>(),
    ) {
        a_replica_takes_each_command_once::<Bank>(given, retries)?;
    }

    #[test]
    fn todo_replica_takes_each_command_once(
        given in seeded::<Todo>(4),
        retries in retries::<Todo>(),
    ) {
        a_replica_takes_each_command_once::<Todo>(given, retries)?;
    }
}

// Law 6: every `Reload` step saves a replica, writes it as JSON, restores it and checks that it
// shows exactly what it showed before; the restored replica then carries on syncing.

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn inventory_replica_survives_reloads(session in session::<Inventory>(true)) {
        World::<Inventory>::play(&session)?;
    }

    #[test]
    fn bank_replica_survives_reloads(session in session::<Bank>(true)) {
        World::<Bank>::play(&session)?;
    }

    #[test]
    fn todo_replica_survives_reloads(session in session::<Todo>(true)) {
        World::<Todo>::play(&session)?;
    }
}

// Law 7.

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn inventory_undo_takes_back_its_command_and_nothing_else(
        session in undo_session::<Inventory>(),
    ) {
        undo::an_undo_takes_back_its_command_and_nothing_else::<Inventory>(&session)?;
    }

    #[test]
    fn bank_undo_takes_back_its_command_and_nothing_else(session in undo_session::<Bank>()) {
        undo::an_undo_takes_back_its_command_and_nothing_else::<Bank>(&session)?;
    }
}
