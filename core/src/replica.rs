//! The client's state machine: confirmed state at a server position, plus a queue of pending
//! commands applied optimistically on top, rebased whenever the server's events arrive.

use std::collections::{HashMap, HashSet, VecDeque};

use uuid::Uuid;

use crate::context::Context;
use crate::domain::{CommandData, Domain, Rejection};
use crate::engine::{execute, with_streams};
use crate::envelope::{Envelope, Meta, Position, Version, event_id};
use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};
use crate::protocol::{Attached, CommandRequest, CommandResult};
use crate::stream::StreamState;
use crate::view::ViewSet;

/// How many recorded events a replica keeps for time travel, unless told otherwise.
pub const DEFAULT_HISTORY: usize = 1000;
/// How many accepted command ids a replica remembers, to answer [`Replica::status`].
const ACCEPTED_MEMORY: usize = 10_000;

/// Where a command stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Applied locally, not yet confirmed by the server.
    Pending,
    /// Recorded by the server.
    Accepted,
    /// Refused, locally after a rebase or by the server; see [`Replica::rejected`].
    Rejected,
}

impl ToJson for Status {
    fn write_json(&self, w: &mut Writer) {
        w.string(match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        });
    }
}

/// A command waiting for the server, with the events it has in the optimistic state.
///
/// Saved as `{command, meta, recorded?, undo_of?, redo_after?}`: its local events are decided
/// again on restore.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending<D: Domain> {
    /// The command.
    pub command: D::Command,
    /// Its id, actor and time.
    pub meta: Meta,
    /// Its events as last decided locally (or as recorded, once the server accepted it).
    pub events: Vec<Envelope<D::Event>>,
    /// The server's events for it, once a push said it was accepted or the first of them
    /// arrived through the log, until all of them have arrived.
    pub recorded: Option<Vec<Envelope<D::Event>>>,
    /// When it is an undo or a redo, the command it stands or falls with.
    pub tie: Option<Tie>,
}

/// What an undo or a redo hangs on: the command before it. It is not sent while that command
/// is pending (nor is anything queued after it), and it is refused, with the same code and
/// message, when that command is refused, so it never takes effect alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// The undo of this command: its [compensation](Domain::compensate), decided again from
    /// the states the server decided the command on once its events arrive.
    UndoOf(Uuid),
    /// A redo after this undo: the undone command, run again.
    RedoAfter(Uuid),
}

impl Tie {
    /// The command it hangs on.
    pub fn follows(self) -> Uuid {
        match self {
            Tie::UndoOf(id) | Tie::RedoAfter(id) => id,
        }
    }
}

impl<D: Domain> ToJson for Pending<D> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        w.field("command", &self.command);
        w.field("meta", &self.meta);
        w.field("recorded", &self.recorded);
        match self.tie {
            Some(Tie::UndoOf(id)) => w.field("undo_of", &id),
            Some(Tie::RedoAfter(id)) => w.field("redo_after", &id),
            None => {}
        }
        w.end_object();
    }
}

impl<D: Domain> FromJson for Pending<D> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        let (mut command, mut meta, mut recorded) = (None, None, None);
        let (mut undo_of, mut redo_after) = (None, None);
        json::read_fields(r, &mut |r, key| match key {
            "command" => json::read_slot(r, &mut command, key),
            "meta" => json::read_slot(r, &mut meta, key),
            "recorded" => json::read_slot(r, &mut recorded, key),
            "undo_of" => json::read_slot(r, &mut undo_of, key),
            "redo_after" => json::read_slot(r, &mut redo_after, key),
            _ => Ok(false),
        })?;
        // Saved by code that knew no ties: neither is there.
        let tie = match (undo_of, redo_after) {
            (Some(id), None) => Some(Tie::UndoOf(id)),
            (None, Some(id)) => Some(Tie::RedoAfter(id)),
            (None, None) => None,
            (Some(_), Some(_)) => return Err(r.error("a command is an undo or a redo, not both")),
        };
        Ok(Pending {
            command: json::take_slot(command, "command")?,
            meta: json::take_slot(meta, "meta")?,
            events: Vec::new(),
            recorded: json::take_slot(recorded, "recorded")?,
            tie,
        })
    }
}

/// A command that was refused, with its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected<D: Domain> {
    /// The command's id.
    pub id: Uuid,
    /// The command.
    pub command: D::Command,
    /// Stable snake_case reason.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

crate::json_struct!([D: Domain] Rejected<D> { id, command, code, message });

/// What a [`Replica::receive`] or [`Replica::acknowledge`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rebased {
    /// Commands the server recorded.
    pub accepted: Vec<Uuid>,
    /// Commands that moved to rejected.
    pub rejected: Vec<Uuid>,
}

/// The server sent events that do not follow the replica's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The position the replica needed next.
    pub expected: Position,
    /// The position it got.
    pub got: Position,
}

/// A command's events and the command that would undo it.
type Decided<D> = (Vec<Envelope<<D as Domain>::Event>>, Option<<D as Domain>::Command>);

/// One side of the replica: stream states and views.
struct Branch<D: Domain> {
    streams: HashMap<String, StreamState<D>>,
    views: ViewSet<D>,
}

impl<D: Domain> Default for Branch<D> {
    fn default() -> Self {
        Branch { streams: HashMap::new(), views: ViewSet::default() }
    }
}

impl<D: Domain> Clone for Branch<D> {
    fn clone(&self) -> Self {
        Branch { streams: self.streams.clone(), views: self.views.clone() }
    }
}

impl<D: Domain> Branch<D> {
    fn apply(&mut self, envelope: &Envelope<D::Event>) {
        self.streams.entry(envelope.stream.clone()).or_default().apply(envelope);
        self.views.apply(envelope);
    }

    fn decide(&self, command: &D::Command, meta: &Meta) -> Result<Decided<D>, Rejection> {
        with_streams(
            command,
            |name| self.streams.get(name),
            |streams| {
                let events = execute::<D>(command, meta, streams)?;
                Ok((events, D::compensate(command, &Context::new(meta, streams))))
            },
        )
    }
}

/// The command an undo undoes.
fn undo_of(tie: Option<Tie>) -> Option<Uuid> {
    match tie? {
        Tie::UndoOf(id) => Some(id),
        Tie::RedoAfter(_) => None,
    }
}

/// A command the user ran, remembered for undo.
#[derive(Clone, Debug, PartialEq)]
struct Done<D: Domain> {
    id: Uuid,
    command: D::Command,
    undo: Option<D::Command>,
}

crate::json_struct!([D: Domain] Done<D> { id, command, undo });

/// A command the user undid, remembered for redo with the undo that took it back (`None` in
/// a replica saved by code that did not remember it).
#[derive(Clone, Debug, PartialEq)]
struct Undone<D: Domain> {
    command: D::Command,
    by: Option<Uuid>,
}

impl<D: Domain> ToJson for Undone<D> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        w.field("command", &self.command);
        w.field("undone_by", &self.by);
        w.end_object();
    }
}

impl<D: Domain> FromJson for Undone<D> {
    /// Reads `{command, undone_by}`, or a bare command as older code saved it.
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        let (mut command, mut by, mut data) = (None, None, None);
        let mut kind: Option<String> = None;
        json::read_fields(r, &mut |r, key| match key {
            "command" => json::read_slot(r, &mut command, key),
            "undone_by" => json::read_slot(r, &mut by, key),
            "type" => json::read_slot(r, &mut kind, key),
            "data" => {
                data = Some(r.raw()?);
                Ok(true)
            }
            _ => Ok(false),
        })?;
        let command = match (command, kind, data) {
            (Some(command), None, None) => command,
            (None, Some(kind), Some(data)) => {
                D::Command::decode(&kind, data).map_err(|e| r.error(&e.to_string()))?
            }
            _ => return Err(json::Error::missing("command")),
        };
        Ok(Undone { command, by })
    }
}

/// The client's replica of a domain: confirmed state at a server position, a queue of pending
/// commands applied optimistically, and the commands the server or a rebase refused.
///
/// Commands never block each other: a pending command that no longer holds after a rebase
/// moves to [`rejected`](Replica::rejected) with its reason and the ones after it carry on.
pub struct Replica<D: Domain> {
    confirmed: Branch<D>,
    /// The confirmed branch with the pending commands' events on top; `None` while no
    /// pending command has events, when it would be a copy of `confirmed`.
    optimistic: Option<Branch<D>>,
    pending: Vec<Pending<D>>,
    rejected: Vec<Rejected<D>>,
    accepted: VecDeque<Uuid>,
    accepted_set: HashSet<Uuid>,
    history: VecDeque<Envelope<D::Event>>,
    history_limit: usize,
    undo: Vec<Done<D>>,
    redo: Vec<Undone<D>>,
    /// While a page that ends the log is taken in, its head (see `receive_page`).
    log_end: Option<Position>,
}

impl<D: Domain> Default for Replica<D> {
    fn default() -> Self {
        Replica {
            confirmed: Branch::default(),
            optimistic: None,
            pending: Vec::new(),
            rejected: Vec::new(),
            accepted: VecDeque::new(),
            accepted_set: HashSet::new(),
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY,
            undo: Vec::new(),
            redo: Vec::new(),
            log_end: None,
        }
    }
}

impl<D: Domain> Replica<D> {
    /// An empty replica at position 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs a user's command against the optimistic state: its events are applied at once and
    /// it joins the pending queue. The command id is `meta.command`; running an id again
    /// returns what the first run did.
    pub fn execute(
        &mut self,
        command: D::Command,
        meta: Meta,
    ) -> Result<Vec<Envelope<D::Event>>, Rejection> {
        if let Some(result) = self.replay(&meta.command) {
            return result;
        }
        let (events, undo) = self.run(command.clone(), meta.clone(), None)?;
        self.undo.push(Done { id: meta.command, command, undo });
        self.redo.clear();
        Ok(events)
    }

    /// Undoes the last command the user ran by running its compensating command, with id
    /// `meta.command`. History is kept: the undo is new events.
    ///
    /// The undo takes back that command's effect and nothing else: its compensation is
    /// relative to what the command did (see [`Domain::compensate`]), so it commutes with what
    /// other devices did meanwhile. It is tied to the command ([`Tie::UndoOf`]): while the
    /// command is pending the undo waits in the queue and is not sent; its compensation is
    /// decided again from the states the server decided the command on once the command's
    /// events arrive; and if the server or a rebase refuses the command, the undo is refused
    /// with the same code and message. An undo never takes effect without its command.
    pub fn undo(&mut self, meta: Meta) -> Result<Vec<Envelope<D::Event>>, Rejection> {
        let Some(done) = self.undo.last() else {
            return Err(Rejection::new("nothing_to_undo", "There is nothing to undo."));
        };
        let Some(compensation) = done.undo.clone() else {
            return Err(Rejection::new(
                "not_undoable",
                format!("{} cannot be undone.", done.command.command_type()),
            ));
        };
        let by = meta.command;
        let events = self.run(compensation, meta, Some(Tie::UndoOf(done.id)))?.0;
        if let Some(done) = self.undo.pop() {
            self.redo.push(Undone { command: done.command, by: Some(by) });
        }
        Ok(events)
    }

    /// Runs the last undone command again, with id `meta.command`. The redo is tied to the
    /// undo it takes back ([`Tie::RedoAfter`]) as an undo is to its command: it waits for it,
    /// and is refused with it, so a command whose undo was refused is never run twice.
    pub fn redo(&mut self, meta: Meta) -> Result<Vec<Envelope<D::Event>>, Rejection> {
        let Some(undone) = self.redo.last() else {
            return Err(Rejection::new("nothing_to_redo", "There is nothing to redo."));
        };
        let (command, tie) = (undone.command.clone(), undone.by.map(Tie::RedoAfter));
        let id = meta.command;
        let (events, undo) = self.run(command.clone(), meta, tie)?;
        self.redo.pop();
        self.undo.push(Done { id, command, undo });
        Ok(events)
    }

    /// Whether [`undo`](Replica::undo) and [`redo`](Replica::redo) have something to do.
    pub fn can_undo_redo(&self) -> (bool, bool) {
        (self.undo.last().is_some_and(|done| done.undo.is_some()), !self.redo.is_empty())
    }

    fn replay(&self, id: &Uuid) -> Option<Result<Vec<Envelope<D::Event>>, Rejection>> {
        if let Some(pending) = self.pending.iter().find(|p| p.meta.command == *id) {
            return Some(Ok(pending.events.clone()));
        }
        if let Some(rejected) = self.rejected.iter().find(|r| r.id == *id) {
            return Some(Err(Rejection::new(&rejected.code, rejected.message.clone())));
        }
        if self.accepted_set.contains(id) {
            let events = self.history.iter().filter(|e| e.meta.command == *id).cloned();
            return Some(Ok(events.collect()));
        }
        None
    }

    fn run(
        &mut self,
        command: D::Command,
        meta: Meta,
        tie: Option<Tie>,
    ) -> Result<Decided<D>, Rejection> {
        let (events, undo) = self.top().decide(&command, &meta)?;
        let confirmed = &self.confirmed;
        let optimistic = self.optimistic.get_or_insert_with(|| confirmed.clone());
        for envelope in &events {
            optimistic.apply(envelope);
        }
        let pending = Pending { command, meta, events: events.clone(), recorded: None, tie };
        self.pending.push(pending);
        Ok((events, undo))
    }

    /// Takes in events from the server's log (in position order; ones already seen are
    /// skipped), confirms the pending commands they record once all of a command's events are
    /// here, and rebases the rest.
    ///
    /// Nothing changes when the events do not follow this replica's position.
    pub fn receive(&mut self, events: &[Envelope<D::Event>]) -> Result<Rebased, Gap> {
        self.receive_page(events, None)
    }

    /// [`receive`](Replica::receive) of a page of the log that the server says ends at
    /// `head`. At the log's end a pending command of which some events arrived has no more to
    /// come (a command's events are committed together), however many this replica decided:
    /// after a push whose answer was lost, the server may have decided it into fewer.
    pub fn receive_page(
        &mut self,
        events: &[Envelope<D::Event>],
        head: Option<Position>,
    ) -> Result<Rebased, Gap> {
        let mut next = self.position() + 1;
        for envelope in events {
            let position = envelope.position.unwrap_or(0);
            if position >= next {
                if position != next {
                    return Err(Gap { expected: next, got: position });
                }
                next += 1;
            }
        }
        // The commands recorded, once each, in log order.
        let (mut recorded, mut order) = (HashSet::new(), Vec::new());
        let queued: HashSet<Uuid> = self.pending.iter().map(|p| p.meta.command).collect();
        let mut orphans = Vec::new();
        for envelope in events {
            if envelope.position.unwrap_or(0) <= self.position() {
                continue;
            }
            let id = envelope.meta.command;
            if queued.contains(&id) && envelope.id == event_id(&id, 0) {
                orphans.extend(self.compensate_as_recorded(id, &envelope.meta));
            }
            self.confirmed.apply(envelope);
            self.remember(envelope.clone());
            self.record(envelope);
            if recorded.insert(envelope.meta.command) {
                order.push(envelope.meta.command);
            }
        }
        // The server has the final word: a command it recorded is accepted even if a local
        // rebase had refused it.
        self.rejected.retain(|rejected| !recorded.contains(&rejected.id));
        for id in &order {
            self.mark_accepted(*id);
        }
        self.log_end = head;
        let mut report = self.rebase();
        self.log_end = None;
        report.rejected.splice(0..0, orphans);
        // A pending command whose events are only partly here (a page may end inside a
        // command) stays pending until the rest arrive.
        let mut skip: HashSet<Uuid> = self.pending.iter().map(|p| p.meta.command).collect();
        skip.extend(report.accepted.iter().copied());
        report.accepted.extend(order.into_iter().filter(|id| skip.insert(*id)));
        Ok(report)
    }

    /// Decides again the compensation of the pending command `id`, whose first event the
    /// confirmed branch is about to take in: it now holds the very states the server decided
    /// the command on. The command's entry on the undo stack and its waiting undo take the new
    /// compensation; a waiting undo of a command that, as the server decided it, cannot be
    /// undone is refused, and its id returned.
    fn compensate_as_recorded(&mut self, id: Uuid, meta: &Meta) -> Option<Uuid> {
        let waiting = |p: &Pending<D>| p.tie == Some(Tie::UndoOf(id)) && p.recorded.is_none();
        let waiting = self.pending.iter().position(waiting);
        let done = self.undo.iter().position(|d| d.id == id);
        if waiting.is_none() && done.is_none() {
            return None;
        }
        let command = self.pending.iter().find(|p| p.meta.command == id)?.command.clone();
        let undo = with_streams(
            &command,
            |name| self.confirmed.streams.get(name),
            |streams| D::compensate(&command, &Context::new(meta, streams)),
        );
        if let Some(done) = done {
            self.undo[done].undo = undo.clone();
        }
        let index = waiting?;
        let Some(undo) = undo else {
            let orphan = self.pending.remove(index);
            let message = format!("{} cannot be undone.", command.command_type());
            let id = orphan.meta.command;
            self.reject(id, orphan.command, Rejection::new("not_undoable", message));
            return Some(id);
        };
        self.pending[index].command = undo;
        None
    }

    /// Keeps the server's copy of a confirmed event of a pending command: the command then
    /// stands for the events the server recorded, and leaves the queue once all are confirmed.
    fn record(&mut self, envelope: &Envelope<D::Event>) {
        let id = envelope.meta.command;
        let Some(pending) = self.pending.iter_mut().find(|p| p.meta.command == id) else {
            return;
        };
        let events = pending.recorded.get_or_insert_with(|| pending.events.clone());
        match events.iter_mut().find(|e| e.id == envelope.id) {
            Some(event) => *event = envelope.clone(),
            None => events.push(envelope.clone()),
        }
    }

    /// Takes in the server's answer to a push: a refused command moves to rejected with the
    /// server's reason; an accepted one keeps the server's events until they arrive through
    /// [`receive`](Replica::receive).
    pub fn acknowledge(&mut self, results: &[CommandResult<D::Event>]) -> Rebased {
        let mut report = Rebased::default();
        for result in results {
            match result {
                CommandResult::Rejected { id, code, message } => {
                    if let Some(index) = self.pending.iter().position(|p| p.meta.command == *id) {
                        let pending = self.pending.remove(index);
                        self.reject(*id, pending.command, Rejection::new(code, message.clone()));
                        report.rejected.push(*id);
                    }
                }
                CommandResult::Accepted { id, events } => {
                    // Events the replica already holds say nothing new; an acceptance that
                    // recorded no event still answers its pending command.
                    let known = events.iter().all(|e| e.position.unwrap_or(0) <= self.position());
                    if (known && !events.is_empty()) || self.accepted_set.contains(id) {
                        continue;
                    }
                    if let Some(pending) = self.pending.iter_mut().find(|p| p.meta.command == *id) {
                        pending.recorded = Some(events.clone());
                    } else if let Some(index) = self.rejected.iter().position(|r| r.id == *id) {
                        // Refused by a local rebase, recorded by the server all the same.
                        let rejected = self.rejected.remove(index);
                        let at = self.pending.iter().position(|p| p.recorded.is_none());
                        let meta = events.first().map(|e| e.meta.clone());
                        let meta = meta.unwrap_or_else(|| Meta::new(*id, String::new(), 0));
                        let pending = Pending {
                            command: rejected.command,
                            meta,
                            events: Vec::new(),
                            recorded: Some(events.clone()),
                            tie: None,
                        };
                        self.pending.insert(at.unwrap_or(self.pending.len()), pending);
                    }
                }
            }
        }
        let rebased = self.rebase();
        report.accepted.extend(rebased.accepted);
        report.rejected.extend(rebased.rejected);
        report
    }

    /// Re-decides every pending command, in order, on top of the confirmed state. Reports the
    /// commands the server recorded whose events are now all confirmed, which leave the queue,
    /// and those that no longer hold, which move to rejected.
    fn rebase(&mut self) -> Rebased {
        let position = self.position();
        let confirmed = |e: &Envelope<D::Event>| e.position.is_some_and(|p| p <= position);
        // Copied from the confirmed branch only once a pending command has events to add.
        let mut optimistic: Option<Branch<D>> = None;
        let mut report = Rebased::default();
        let mut kept = Vec::with_capacity(self.pending.len());
        // The compensations of the commands decided again in this pass that an undo waits on
        // (a few: a list costs less code in the module than a map).
        let mut fresh: Vec<(Uuid, D::Command)> = Vec::new();
        let waited: HashSet<Uuid> = self.pending.iter().filter_map(|p| undo_of(p.tie)).collect();
        for mut pending in std::mem::take(&mut self.pending) {
            if let Some(recorded) = &pending.recorded {
                // A command's events are contiguous in the log: once the log has moved past
                // the last one seen, none is missing.
                let last = recorded.iter().filter_map(|e| e.position).max();
                let past = |last: Position| last < position || self.log_end == Some(position);
                if recorded.iter().all(confirmed) || last.is_some_and(past) {
                    self.mark_accepted(pending.meta.command);
                    report.accepted.push(pending.meta.command);
                    continue;
                }
                for envelope in recorded.iter().filter(|e| !confirmed(e)) {
                    optimistic.get_or_insert_with(|| self.confirmed.clone()).apply(envelope);
                }
                pending.events = recorded.clone();
                kept.push(pending);
                continue;
            }
            let id = pending.meta.command;
            if let Some(tie) = pending.tie {
                // An undo or a redo falls with the command it hangs on.
                if let Some(refused) = self.rejected.iter().find(|r| r.id == tie.follows()) {
                    let rejection = Rejection::new(&refused.code, refused.message.clone());
                    report.rejected.push(id);
                    self.reject(id, pending.command, rejection);
                    continue;
                }
                let waited_on =
                    undo_of(Some(tie)).and_then(|of| fresh.iter().position(|f| f.0 == of));
                if let Some((_, undo)) = waited_on.map(|at| fresh.swap_remove(at)) {
                    pending.command = undo;
                }
            }
            match optimistic
                .as_ref()
                .unwrap_or(&self.confirmed)
                .decide(&pending.command, &pending.meta)
            {
                Ok((events, undo)) => {
                    let top = optimistic.get_or_insert_with(|| self.confirmed.clone());
                    for envelope in &events {
                        top.apply(envelope);
                    }
                    if let Some(undo) = undo.as_ref().filter(|_| waited.contains(&id)) {
                        fresh.push((id, undo.clone()));
                    }
                    if let Some(done) = self.undo.iter_mut().find(|d| d.id == id) {
                        done.undo = undo;
                    }
                    pending.events = events;
                    kept.push(pending);
                }
                Err(rejection) => {
                    report.rejected.push(id);
                    self.reject(id, pending.command, rejection);
                }
            }
        }
        self.pending = kept;
        self.optimistic = optimistic;
        report
    }

    /// Moves a command to rejected. It leaves the undo stack; an undo of it leaves the redo
    /// stack, since what it undid still stands.
    fn reject(&mut self, id: Uuid, command: D::Command, rejection: Rejection) {
        self.undo.retain(|done| done.id != id);
        self.redo.retain(|undone| undone.by != Some(id));
        self.rejected.retain(|r| r.id != id);
        self.rejected.push(Rejected {
            id,
            command,
            code: rejection.code,
            message: rejection.message,
        });
    }

    fn mark_accepted(&mut self, id: Uuid) {
        if self.accepted_set.insert(id) {
            self.accepted.push_back(id);
            if self.accepted.len() > ACCEPTED_MEMORY
                && let Some(old) = self.accepted.pop_front()
            {
                self.accepted_set.remove(&old);
            }
        }
    }

    fn remember(&mut self, envelope: Envelope<D::Event>) {
        self.history.push_back(envelope);
        while self.history.len() > self.history_limit {
            self.history.pop_front();
        }
    }

    /// The optimistic branch: the confirmed one while no pending command has events.
    fn top(&self) -> &Branch<D> {
        self.optimistic.as_ref().unwrap_or(&self.confirmed)
    }

    /// The server position the confirmed state reflects.
    pub fn position(&self) -> Position {
        self.confirmed.views.position()
    }

    /// A command's status, if this replica knows it.
    pub fn status(&self, id: &Uuid) -> Option<Status> {
        if self.pending.iter().any(|p| p.meta.command == *id) {
            Some(Status::Pending)
        } else if self.rejected.iter().any(|r| r.id == *id) {
            Some(Status::Rejected)
        } else if self.accepted_set.contains(id) {
            Some(Status::Accepted)
        } else {
            None
        }
    }

    /// The pending commands, oldest first.
    pub fn pending(&self) -> &[Pending<D>] {
        &self.pending
    }

    /// The refused commands with their reasons, oldest first.
    pub fn rejected(&self) -> &[Rejected<D>] {
        &self.rejected
    }

    /// Forgets a rejected command once the user has seen it.
    pub fn dismiss(&mut self, id: &Uuid) -> bool {
        let before = self.rejected.len();
        self.rejected.retain(|r| r.id != *id);
        before != self.rejected.len()
    }

    /// The pending commands the server has not answered yet, as a push sends them, in order,
    /// up to the first undo or redo whose command is still pending: that one waits until its
    /// command is accepted and its events have arrived, and the commands queued after it wait
    /// with it, so that the server decides them in the order this replica did.
    pub fn outbox(&self) -> Vec<CommandRequest> {
        let queued: HashSet<Uuid> = self.pending.iter().map(|p| p.meta.command).collect();
        let waiting = |p: &&Pending<D>| p.tie.is_some_and(|tie| queued.contains(&tie.follows()));
        let unanswered = self.pending.iter().filter(|p| p.recorded.is_none());
        unanswered
            .take_while(|p| !waiting(p))
            .map(|p| CommandRequest {
                id: p.meta.command,
                command_type: p.command.command_type().to_owned(),
                data: p.command.data(),
                expected: None,
                meta: Attached::of(&p.meta),
            })
            .collect()
    }

    /// A stream's optimistic state (confirmed plus pending).
    pub fn stream(&self, stream: &str) -> StreamState<D> {
        self.top().streams.get(stream).cloned().unwrap_or_default()
    }

    /// A stream's state as the server last confirmed it.
    pub fn confirmed_stream(&self, stream: &str) -> StreamState<D> {
        self.confirmed.streams.get(stream).cloned().unwrap_or_default()
    }

    /// The optimistic read models.
    pub fn views(&self) -> &ViewSet<D> {
        &self.top().views
    }

    /// The read models as the server last confirmed them.
    pub fn confirmed_views(&self) -> &ViewSet<D> {
        &self.confirmed.views
    }

    /// The events this replica holds for a stream: the recent confirmed history, then pending.
    pub fn events(&self, stream: &str) -> Vec<&Envelope<D::Event>> {
        let pending = self.pending.iter().flat_map(|p| &p.events);
        self.history.iter().chain(pending).filter(|e| e.stream == stream).collect()
    }

    /// A stream's state at `version` (time travel), when this replica still holds the stream's
    /// events from its first one; `None` when they have left the bounded history.
    pub fn state_at(&self, stream: &str, version: Version) -> Option<StreamState<D>> {
        let events = self.events(stream);
        if version > 0 && events.first().is_none_or(|first| first.version != 1) {
            return None;
        }
        Some(StreamState::at(events, version))
    }

    /// Sets how many recorded events are kept for time travel (lower it to save space).
    pub fn set_history_limit(&mut self, limit: usize) {
        self.history_limit = limit;
        while self.history.len() > limit {
            self.history.pop_front();
        }
    }

    /// Everything needed to restore this replica later: the confirmed state, the pending and
    /// rejected commands, undo/redo, and the recent history.
    pub fn save(&self) -> Saved<D> {
        Saved {
            state_version: D::STATE_VERSION,
            position: self.position(),
            streams: self.confirmed.streams.clone(),
            views: self
                .confirmed
                .views
                .names()
                .into_iter()
                .filter_map(|(name, version)| {
                    let rows = self.confirmed.views.view(name)?.rows();
                    Some(SavedView { name: name.to_owned(), version, rows })
                })
                .collect(),
            pending: self.pending.clone(),
            rejected: self.rejected.clone(),
            accepted: self.accepted.iter().copied().collect(),
            history: self.history.iter().cloned().collect(),
            undo: self.undo.clone(),
            redo: self.redo.clone(),
        }
    }

    /// Restores a saved replica. When the saved confirmed state was made by other reducer or
    /// view versions, or cannot be read, it is dropped (position 0, to be pulled again) while
    /// every pending and rejected command is kept; the returned flag says so.
    pub fn restore(saved: Saved<D>) -> (Self, bool) {
        let (replica, stale) = Self::restore_explained(saved);
        (replica, stale.is_some())
    }

    /// [`restore`](Replica::restore), saying why the confirmed state was dropped, if it was.
    pub fn restore_explained(saved: Saved<D>) -> (Self, Option<Stale>) {
        let mut replica = Replica::<D>::default();
        let mut confirmed = Branch::<D>::default();
        let mut stale = (saved.state_version != D::STATE_VERSION
            || saved.views.len() != confirmed.views.names().len())
        .then_some(Stale::OtherRules);
        for view in &saved.views {
            let Some(target) = confirmed.views.view_mut(&view.name) else {
                stale = Some(Stale::OtherRules);
                break;
            };
            if target.version() != view.version {
                stale = Some(Stale::OtherRules);
                break;
            }
            for (key, row) in &view.rows {
                if let Err(error) = target.load(key, row.get()) {
                    stale.get_or_insert_with(|| Stale::Unreadable {
                        view: view.name.clone(),
                        key: key.clone(),
                        error: error.to_string(),
                    });
                }
            }
        }
        if stale.is_none() {
            confirmed.streams = saved.streams;
            confirmed.views.set_position(saved.position);
            replica.confirmed = confirmed;
            replica.history = saved.history.into();
            for id in saved.accepted {
                replica.mark_accepted(id);
            }
        }
        replica.pending = saved.pending;
        replica.rejected = saved.rejected;
        replica.undo = saved.undo;
        replica.redo = saved.redo;
        replica.rebase();
        (replica, stale)
    }
}

/// Why [`Replica::restore_explained`] dropped a saved confirmed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stale {
    /// It was made by other reducers or view versions.
    OtherRules,
    /// A row of a view cannot be read.
    Unreadable {
        /// The view.
        view: String,
        /// The row's key.
        key: String,
        /// Why it cannot be read.
        error: String,
    },
}

/// A replica as it is persisted (e.g. in localStorage).
#[derive(Clone, Debug)]
pub struct Saved<D: Domain> {
    /// [`Domain::STATE_VERSION`] of the code that saved it.
    pub state_version: u32,
    /// The confirmed position.
    pub position: Position,
    /// Confirmed stream states.
    pub streams: HashMap<String, StreamState<D>>,
    /// Confirmed view rows.
    pub views: Vec<SavedView>,
    /// Pending commands, oldest first.
    pub pending: Vec<Pending<D>>,
    /// Rejected commands.
    pub rejected: Vec<Rejected<D>>,
    /// Recently accepted command ids.
    pub accepted: Vec<Uuid>,
    /// Recent confirmed events, for time travel.
    pub history: Vec<Envelope<D::Event>>,
    undo: Vec<Done<D>>,
    redo: Vec<Undone<D>>,
}

crate::json_struct!([D: Domain] Saved<D> {
    state_version,
    position,
    streams,
    views,
    pending,
    rejected,
    accepted = Vec::new(),
    history = Vec::new(),
    undo = Vec::new(),
    redo = Vec::new(),
});

/// One view's rows as saved.
#[derive(Clone, Debug)]
pub struct SavedView {
    /// The view's name.
    pub name: String,
    /// The view's reducer version when saved.
    pub version: u32,
    /// `(key, row)` pairs.
    pub rows: Vec<(String, RawJson)>,
}

crate::json_struct!(SavedView { name, version, rows });

impl<D: Domain> Saved<D> {
    /// Drops the recent history (the first thing to go when storage runs short).
    pub fn without_history(mut self) -> Self {
        self.history.clear();
        self
    }

    /// Takes out its undo and redo stacks, to put into another copy with
    /// [`put_undo`](Saved::put_undo): when copies of one replica kept by several tabs are
    /// merged, what each tab undoes stays its own.
    pub fn take_undo(&mut self) -> UndoStacks<D> {
        UndoStacks { undo: std::mem::take(&mut self.undo), redo: std::mem::take(&mut self.redo) }
    }

    /// Replaces its undo and redo stacks.
    pub fn put_undo(&mut self, stacks: UndoStacks<D>) {
        self.undo = stacks.undo;
        self.redo = stacks.redo;
    }
}

/// A replica's undo and redo stacks, moved between saved copies (see [`Saved::take_undo`]).
pub struct UndoStacks<D: Domain> {
    undo: Vec<Done<D>>,
    redo: Vec<Undone<D>>,
}

impl<D: Domain> UndoStacks<D> {
    /// Whether there is nothing to undo or redo.
    pub fn is_empty(&self) -> bool {
        self.undo.is_empty() && self.redo.is_empty()
    }
}
