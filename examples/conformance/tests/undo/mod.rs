//! Law 7: one device runs a command and undoes it while other devices run theirs, and
//! everyone syncs in any order. The undo never takes effect without its command, falls with
//! it, and takes back its effect and nothing else: every other device's effects stay.
//!
//! A command's effect is what it changed in the states it touched, read through
//! [`Effects::measures`]: amounts that commands add to and take from (stock, balances) change
//! by a difference; values that commands set (names, credit lines) change from one value to
//! another. A count is an effect like any other: the difference it recorded.

use std::collections::{BTreeMap, HashMap};

use annals_bank::Bank;
use annals_core::{Envelope, Rejected, Status, StreamState, Uuid};
use annals_inventory::Inventory;
use proptest::prelude::*;

use crate::arbitrary::{Model, UndoSession};
use crate::sync::{Outcome, World, fail};

/// One thing a stream's state shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// An amount commands add to and take from.
    Amount(i64),
    /// A value commands set.
    Value(String),
}

/// A domain whose states can be read as amounts and values.
pub trait Effects: Model {
    /// What `state` shows, by name.
    fn measures(state: &Self::State) -> Vec<(String, Measure)>;
}

impl Effects for Inventory {
    fn measures(state: &Self::State) -> Vec<(String, Measure)> {
        let Some(item) = state else { return Vec::new() };
        let mut measures = vec![
            ("name".to_owned(), Measure::Value(item.name.clone())),
            ("retired".to_owned(), Measure::Value(item.retired.to_string())),
        ];
        for (site, qty) in item.stock.iter() {
            measures.push((format!("stock at {site}"), Measure::Amount(*qty)));
        }
        measures
    }
}

impl Effects for Bank {
    fn measures(state: &Self::State) -> Vec<(String, Measure)> {
        let Some(account) = state else { return Vec::new() };
        vec![
            ("balance".to_owned(), Measure::Amount(account.balance)),
            ("credit line".to_owned(), Measure::Value(account.limit.to_string())),
            ("closed".to_owned(), Measure::Value(account.closed.to_string())),
        ]
    }
}

/// What one command changed: per `stream: measure`, the measure before and after it.
type Change = BTreeMap<String, (Option<Measure>, Option<Measure>)>;

/// The measures of one stream's state, keyed by `stream: measure`.
fn measures_of<D: Effects>(stream: &str, state: &StreamState<D>) -> BTreeMap<String, Measure> {
    let measures = D::measures(&state.state).into_iter();
    measures.map(|(name, measure)| (format!("{stream}: {name}"), measure)).collect()
}

/// What each command recorded in `events` changed, by command id.
fn changes<D: Effects>(events: &[Envelope<D::Event>]) -> HashMap<Uuid, Change> {
    let mut streams = HashMap::<String, StreamState<D>>::new();
    let mut changes = HashMap::<Uuid, Change>::new();
    for envelope in events {
        let state = streams.entry(envelope.stream.clone()).or_default();
        let before = measures_of(&envelope.stream, state);
        state.apply(envelope);
        let after = measures_of(&envelope.stream, state);
        let change = changes.entry(envelope.meta.command).or_default();
        for key in before.keys().chain(after.keys()) {
            let (old, new) = (before.get(key).cloned(), after.get(key).cloned());
            if old != new {
                let entry = change.entry(key.clone()).or_insert((old, None));
                entry.1 = new;
            }
        }
    }
    changes
}

/// By how much a change moved an amount (from nothing, an amount starts at 0).
fn difference(change: &Change, key: &str) -> i64 {
    let amount = |measure: &Option<Measure>| match measure {
        Some(Measure::Amount(amount)) => *amount,
        _ => 0,
    };
    change.get(key).map_or(0, |(before, after)| amount(after) - amount(before))
}

/// Plays the session, then checks law 7 for the device's command and its undo.
pub fn an_undo_takes_back_its_command_and_nothing_else<D: Effects>(
    session: &UndoSession<D::Command>,
) -> Outcome {
    let mut world = World::<D>::new(session.offline.len() + 1);
    for command in &session.prelude {
        world.write(command);
    }
    for replica in 0..world.replicas.len() {
        world.pull(replica, 0, usize::MAX)?;
    }
    for (other, commands) in session.offline.iter().enumerate() {
        for command in commands {
            world.execute(other + 1, command.clone())?;
        }
    }
    world.execute(0, session.command.clone())?;
    // Taken in by the device (replica 0), it is the last command admitted so far.
    let Some(&(0, command)) = world.admitted.last() else {
        return Ok(()); // The device refused its command at once: there is nothing to undo.
    };
    for step in &session.before {
        world.step(step)?;
    }
    let undo = world.undo(0, false)?;
    for step in &session.after {
        world.step(step)?;
    }
    world.settle()?;
    world.check_converged()?;
    let Some(undo) = undo else {
        return Ok(()); // Nothing to undo (refused, or never undoable): law 3 covered it.
    };

    let device = &world.replicas[0];
    let events = world.log.events();
    let positions =
        |id: Uuid| events.iter().filter(move |e| e.meta.command == id).map(|e| e.position);
    let (done, undone) = (positions(command).max(), positions(undo).min());
    // The undo never takes effect without its command, nor before it.
    if let Some(undone) = undone {
        prop_assert!(done.is_some_and(|done| done < undone), "the undo was recorded alone");
        prop_assert_eq!(device.status(&undo), Some(Status::Accepted));
    }
    // It falls with its command, for the same reason.
    if device.status(&command) == Some(Status::Rejected) {
        let entry = |id| device.rejected().iter().find(|r: &&Rejected<D>| r.id == id);
        let (fallen, with) = (entry(command), entry(undo));
        prop_assert!(undone.is_none());
        prop_assert_eq!(with.map(|r| (&r.code, &r.message)), fallen.map(|r| (&r.code, &r.message)));
    }

    // Every other device's effects stay, and of the command and its undo nothing remains,
    // unless the undo was refused; then the command's effect stays.
    let changes = changes::<D>(events);
    let none = Change::new();
    let mine = changes.get(&command).unwrap_or(&none);
    let its_undo = changes.get(&undo).unwrap_or(&none);
    let mut finals = BTreeMap::new();
    for stream in D::pool() {
        finals.extend(measures_of(&stream, &world.log.state(&stream)));
    }
    for (key, measure) in &finals {
        let Measure::Amount(amount) = measure else { continue };
        let others: i64 = changes
            .iter()
            .filter(|(id, _)| **id != command && **id != undo)
            .map(|(_, change)| difference(change, key))
            .sum();
        let kept = if undone.is_some() { 0 } else { difference(mine, key) };
        prop_assert_eq!(*amount, others + kept, "{}: what the others did, and kept", key);
        if undone.is_some() {
            let (taken_back, done) = (difference(its_undo, key), difference(mine, key));
            prop_assert_eq!(taken_back, -done, "{}: the undo takes back its command", key);
        }
    }
    // A value the undo sets is one its command set, and the undo found it as the command left
    // it: it goes back to what it was before the command. (Someone who set the very same
    // value in between changed nothing, so nothing of theirs is lost.)
    for (key, (before, after)) in its_undo {
        let amount = |m: &Option<Measure>| matches!(m, Some(Measure::Amount(_)));
        if amount(before) || amount(after) {
            continue;
        }
        let Some((was, left)) = mine.get(key) else {
            return Err(fail(format!("the undo set {key}, which its command left alone")));
        };
        prop_assert_eq!(before, left, "{} was overwritten, set by someone else since", key);
        if was.is_some() {
            prop_assert_eq!(after, was, "{} is not set back", key);
        }
    }
    Ok(())
}
