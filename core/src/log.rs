//! An event log held in memory: the reference for what a store does with a command, used by
//! tests and simulations. The server's stores implement the same rules over SQL.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::context::Context;
use crate::domain::{Domain, Rejection};
use crate::engine::{execute, with_streams};
use crate::envelope::{Envelope, Meta, Position, Version};
use crate::protocol::CommandResult;
use crate::stream::StreamState;

/// A global log of one domain's events, with per-stream states and command idempotency.
pub struct MemoryLog<D: Domain> {
    events: Vec<Envelope<D::Event>>,
    streams: HashMap<String, (StreamState<D>, Vec<usize>)>,
    results: HashMap<Uuid, CommandResult<D::Event>>,
}

impl<D: Domain> Default for MemoryLog<D> {
    fn default() -> Self {
        MemoryLog { events: Vec::new(), streams: HashMap::new(), results: HashMap::new() }
    }
}

impl<D: Domain> MemoryLog<D> {
    /// Decides and records a command, as `POST /v1/commands` does for each entry.
    ///
    /// A command id seen before returns its first result and records nothing. With `expected`,
    /// the command is refused with `wrong_expected_version` if a named stream moved.
    pub fn submit(
        &mut self,
        command: &D::Command,
        meta: &Meta,
        expected: Option<&BTreeMap<String, Version>>,
    ) -> CommandResult<D::Event> {
        if let Some(result) = self.results.get(&meta.command) {
            return result.clone();
        }
        let result = match self.decide(command, meta, expected) {
            Ok(events) => CommandResult::Accepted { id: meta.command, events: self.record(events) },
            Err(rejection) => CommandResult::Rejected {
                id: meta.command,
                code: rejection.code,
                message: rejection.message,
            },
        };
        self.results.insert(meta.command, result.clone());
        result
    }

    fn decide(
        &self,
        command: &D::Command,
        meta: &Meta,
        expected: Option<&BTreeMap<String, Version>>,
    ) -> Result<Vec<Envelope<D::Event>>, Rejection> {
        for (stream, version) in expected.into_iter().flatten() {
            let actual = self.version(stream);
            if actual != *version {
                return Err(Rejection::new(
                    "wrong_expected_version",
                    format!("{stream} is at version {actual}, not {version}"),
                ));
            }
        }
        with_streams(
            command,
            |name| self.state_of(name),
            |streams| execute::<D>(command, meta, streams),
        )
    }

    /// The command that would undo `command` if it ran now against this log, seen by
    /// [`Domain::compensate`] with `meta` (the command's own).
    pub fn compensation(&self, command: &D::Command, meta: &Meta) -> Option<D::Command> {
        with_streams(
            command,
            |name| self.state_of(name),
            |streams| D::compensate(command, &Context::new(meta, streams)),
        )
    }

    fn state_of(&self, stream: &str) -> Option<&StreamState<D>> {
        self.streams.get(stream).map(|(state, _)| state)
    }

    /// Records envelopes whose versions already follow their streams, assigning positions.
    fn record(&mut self, events: Vec<Envelope<D::Event>>) -> Vec<Envelope<D::Event>> {
        events
            .into_iter()
            .map(|mut envelope| {
                envelope.position = Some(self.events.len() as Position + 1);
                let (state, indexes) = self.streams.entry(envelope.stream.clone()).or_default();
                state.apply(&envelope);
                indexes.push(self.events.len());
                self.events.push(envelope.clone());
                envelope
            })
            .collect()
    }

    /// The last position (0 for an empty log).
    pub fn head(&self) -> Position {
        self.events.len() as Position
    }

    /// Every event, in position order.
    pub fn events(&self) -> &[Envelope<D::Event>] {
        &self.events
    }

    /// The events after `position`, in position order.
    pub fn after(&self, position: Position) -> &[Envelope<D::Event>] {
        let start = (position as usize).min(self.events.len());
        &self.events[start..]
    }

    /// One stream's events, in version order.
    pub fn stream(&self, stream: &str) -> Vec<&Envelope<D::Event>> {
        self.streams
            .get(stream)
            .map(|(_, indexes)| indexes.iter().map(|&i| &self.events[i]).collect())
            .unwrap_or_default()
    }

    /// One stream's current state.
    pub fn state(&self, stream: &str) -> StreamState<D> {
        self.streams.get(stream).map(|(state, _)| state.clone()).unwrap_or_default()
    }

    /// One stream's current version.
    pub fn version(&self, stream: &str) -> Version {
        self.streams.get(stream).map_or(0, |(state, _)| state.version)
    }
}
