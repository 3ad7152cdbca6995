//! A server (a [`MemoryLog`]) and replicas syncing with it step by step, checking on every step
//! what a replica must hold; plus the by-hand folds the checks compare against.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;

use annals_core::protocol::{CommandRequest, CommandResult};
use annals_core::{
    CommandData, Domain, Envelope, MemoryLog, Meta, Pending, Position, Rebased, Rejected,
    Rejection, Replica, Saved, Status, StreamState, Uuid, ViewSet, execute, meta,
};
use proptest::prelude::*;

use crate::arbitrary::{Model, Session, Step};

/// What a law returns.
pub type Outcome = Result<(), TestCaseError>;

/// Fails the case with `error`.
pub fn fail(error: impl Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

/// Stream states and views folded by hand from a starting point: what a replica should hold.
pub struct Fold<D: Domain> {
    streams: HashMap<String, StreamState<D>>,
    /// The views.
    pub views: ViewSet<D>,
}

impl<D: Model> Fold<D> {
    /// The replica's confirmed state.
    pub fn confirmed(replica: &Replica<D>) -> Self {
        let streams = D::pool()
            .into_iter()
            .map(|stream| {
                let state = replica.confirmed_stream(&stream);
                (stream, state)
            })
            .collect();
        Fold { streams, views: replica.confirmed_views().clone() }
    }

    /// Folds `events`, in order.
    pub fn apply(&mut self, events: &[Envelope<D::Event>]) {
        for envelope in events {
            let stream = self.streams.entry(envelope.stream.clone()).or_default();
            stream.apply(envelope);
            self.views.apply(envelope);
        }
    }

    /// Decides `command` against the folded streams, as the engine does everywhere.
    pub fn decide(
        &self,
        command: &D::Command,
        meta: &Meta,
    ) -> Result<Vec<Envelope<D::Event>>, Rejection> {
        let names = D::streams(command);
        let empty = StreamState::default();
        let streams: Vec<(&str, &StreamState<D>)> = names
            .iter()
            .map(|name| (name.as_str(), self.streams.get(name).unwrap_or(&empty)))
            .collect();
        execute::<D>(command, meta, &streams)
    }

    /// One stream's folded state.
    pub fn stream(&self, stream: &str) -> StreamState<D> {
        self.streams.get(stream).cloned().unwrap_or_default()
    }
}

/// Everything a replica shows, to compare two replicas or one replica before and after.
#[derive(Debug, PartialEq)]
pub struct Seen<D: Domain> {
    position: Position,
    pending: Vec<Pending<D>>,
    rejected: Vec<Rejected<D>>,
    outbox: Vec<CommandRequest>,
    statuses: Vec<(Uuid, Option<Status>)>,
    confirmed: Vec<StreamState<D>>,
    optimistic: Vec<StreamState<D>>,
    events: Vec<Vec<Envelope<D::Event>>>,
    confirmed_views: ViewSet<D>,
    views: ViewSet<D>,
    undo_redo: (bool, bool),
}

impl<D: Model> Seen<D> {
    /// What `replica` shows, with the status of each of `ids`.
    pub fn of(replica: &Replica<D>, ids: &[Uuid]) -> Self {
        let streams = D::pool();
        Seen {
            position: replica.position(),
            pending: replica.pending().to_vec(),
            rejected: replica.rejected().to_vec(),
            outbox: replica.outbox(),
            statuses: ids.iter().map(|id| (*id, replica.status(id))).collect(),
            confirmed: streams.iter().map(|s| replica.confirmed_stream(s)).collect(),
            optimistic: streams.iter().map(|s| replica.stream(s)).collect(),
            events: streams
                .iter()
                .map(|s| replica.events(s).into_iter().cloned().collect())
                .collect(),
            confirmed_views: replica.confirmed_views().clone(),
            views: replica.views().clone(),
            undo_redo: replica.can_undo_redo(),
        }
    }
}

/// The ids of `pending`, in order.
pub fn ids<D: Domain>(pending: &[Pending<D>]) -> Vec<Uuid> {
    pending.iter().map(|p| p.meta.command).collect()
}

/// The replica's one rejected entry for `id`.
pub fn rejected_entry<D: Domain>(
    replica: &Replica<D>,
    id: Uuid,
) -> Result<&Rejected<D>, TestCaseError> {
    let mut entries = replica.rejected().iter().filter(|r| r.id == id);
    let entry = entries.next().ok_or_else(|| fail(format!("{id} is not in rejected()")))?;
    prop_assert!(entries.next().is_none(), "{} is in rejected() twice", id);
    Ok(entry)
}

/// Whether `envelope` is in the replica's confirmed state.
fn confirmed<D: Domain>(replica: &Replica<D>, envelope: &Envelope<D::Event>) -> bool {
    envelope.position.is_some_and(|p| p <= replica.position())
}

/// Law 3, mid-way: the optimistic state is the confirmed state with every pending command
/// decided again on top, in order; a command the server accepted contributes those of its
/// recorded events that are not confirmed yet.
pub fn check_optimistic<D: Model>(replica: &Replica<D>) -> Outcome {
    let mut fold = Fold::confirmed(replica);
    for pending in replica.pending() {
        if let Some(tie) = pending.tie {
            let fallen = replica.rejected().iter().any(|r| r.id == tie.follows());
            prop_assert!(!fallen, "{} hangs on a rejected command", pending.meta.command);
        }
        let events = match &pending.recorded {
            Some(recorded) => {
                prop_assert_eq!(&pending.events, recorded);
                recorded.iter().filter(|e| !confirmed(replica, e)).cloned().collect()
            }
            None => {
                let decided = fold.decide(&pending.command, &pending.meta).map_err(|r| {
                    fail(format!("pending {} no longer holds: {r}", pending.meta.command))
                })?;
                prop_assert_eq!(&pending.events, &decided);
                decided
            }
        };
        fold.apply(&events);
    }
    for stream in D::pool() {
        prop_assert_eq!(replica.stream(&stream), fold.stream(&stream), "stream {}", stream);
    }
    prop_assert_eq!(replica.views(), &fold.views);
    Ok(())
}

/// The server and the replicas syncing with it, with what each command became.
pub struct World<D: Domain> {
    /// The server.
    pub log: MemoryLog<D>,
    /// The clients.
    pub replicas: Vec<Replica<D>>,
    /// Every command a replica took in (its `execute` returned events), by replica.
    pub admitted: Vec<(usize, Uuid)>,
    /// Every command a replica refused at once, by replica.
    pub refused: Vec<(usize, Uuid)>,
    /// The answers to every push that arrived.
    pub acknowledged: Vec<Vec<CommandResult<D::Event>>>,
    /// The events of every pull.
    pub received: Vec<Vec<Envelope<D::Event>>>,
    answers: HashMap<Uuid, CommandResult<D::Event>>,
    reasons: HashMap<Uuid, Vec<String>>,
    commands: u128,
    clock: i64,
}

fn actor(replica: usize) -> String {
    format!("replica-{replica}")
}

impl<D: Model> World<D> {
    /// An empty server and `replicas` empty replicas.
    pub fn new(replicas: usize) -> Self {
        World {
            log: MemoryLog::default(),
            replicas: (0..replicas).map(|_| Replica::new()).collect(),
            admitted: Vec::new(),
            refused: Vec::new(),
            acknowledged: Vec::new(),
            received: Vec::new(),
            answers: HashMap::new(),
            reasons: HashMap::new(),
            commands: 0,
            clock: 1_700_000_000_000,
        }
    }

    fn tick(&mut self) -> i64 {
        self.clock += 1000;
        self.clock
    }

    /// The metadata of a new command: a fresh id, the actor and the time.
    pub fn next_meta(&mut self, actor: &str) -> Meta {
        self.commands += 1;
        let at = self.tick();
        meta(Uuid::from_u128(0xC0DE_0000 + self.commands), actor, at)
    }

    /// Every command id a replica has seen.
    pub fn ids(&self) -> Vec<Uuid> {
        let all = self.admitted.iter().chain(&self.refused);
        all.map(|(_, id)| *id).collect()
    }

    /// Plays a whole session, checking every replica after each step, then syncs everyone
    /// and checks that they converged.
    pub fn play(session: &Session<D::Command>) -> Outcome {
        let mut world = World::<D>::new(session.offline.len());
        for command in &session.prelude {
            world.write(command);
        }
        for replica in 0..world.replicas.len() {
            world.pull(replica, 0, usize::MAX)?;
        }
        for (replica, commands) in session.offline.iter().enumerate() {
            for command in commands {
                world.execute(replica, command.clone())?;
            }
        }
        for step in &session.steps {
            world.step(step)?;
        }
        world.settle()?;
        world.check_converged()
    }

    /// Plays one step of a session, then checks every replica's optimistic state.
    pub fn step(&mut self, step: &Step<D::Command>) -> Outcome {
        match step {
            Step::Execute { replica, command } => self.execute(*replica, command.clone())?,
            Step::Push { replica, lost } => self.push(*replica, *lost).map(drop)?,
            Step::Pull { replica, back, limit } => self.pull(*replica, *back, *limit)?,
            Step::Server { command } => self.write(command),
            Step::Reload { replica } => self.reload(*replica)?,
            Step::Undo { replica } => self.undo(*replica, false).map(drop)?,
            Step::Redo { replica } => self.undo(*replica, true).map(drop)?,
        }
        for replica in &self.replicas {
            check_optimistic(replica)?;
        }
        Ok(())
    }

    /// Another client's command reaches the server.
    pub fn write(&mut self, command: &D::Command) {
        let meta = self.next_meta("other");
        let result = self.log.submit(command, &meta, None);
        self.answers.insert(meta.command, result);
    }

    /// A replica runs a new command; a refused one must leave the replica as it was.
    pub fn execute(&mut self, replica: usize, command: D::Command) -> Outcome {
        self.admit(replica, |replica, meta| replica.execute(command, meta)).map(drop)
    }

    /// A replica undoes its last command, or with `redo` redoes the last one it undid: a new
    /// command, tied to the one it takes back. Returns its id if the replica took it in.
    pub fn undo(&mut self, replica: usize, redo: bool) -> Result<Option<Uuid>, TestCaseError> {
        let ties =
            |replica: &Replica<D>| replica.pending().iter().filter(|p| p.tie.is_some()).count();
        let before = ties(&self.replicas[replica]);
        let run = |replica: &mut Replica<D>, meta: Meta| match redo {
            true => replica.redo(meta),
            false => replica.undo(meta),
        };
        let admitted = self.admit(replica, run)?;
        if admitted.is_some() {
            prop_assert_eq!(ties(&self.replicas[replica]), before + 1, "an undo or redo is tied");
        }
        Ok(admitted)
    }

    /// A replica runs what `run` does with a new command id; refused, it must leave the
    /// replica as it was. Returns the id if the replica took the command in.
    fn admit(
        &mut self,
        replica: usize,
        run: impl FnOnce(&mut Replica<D>, Meta) -> Result<Vec<Envelope<D::Event>>, Rejection>,
    ) -> Result<Option<Uuid>, TestCaseError> {
        let meta = self.next_meta(&actor(replica));
        let id = meta.command;
        let ids = self.ids();
        let replica_ = &mut self.replicas[replica];
        let before = Seen::of(replica_, &ids);
        match run(replica_, meta) {
            Ok(events) => {
                prop_assert_eq!(replica_.status(&id), Some(Status::Pending));
                let last = replica_.pending().last().map(|p| (p.meta.command, &p.events));
                prop_assert_eq!(last, Some((id, &events)));
                self.admitted.push((replica, id));
                Ok(Some(id))
            }
            Err(_) => {
                prop_assert_eq!(Seen::of(replica_, &ids), before, "a refused command left a trace");
                prop_assert_eq!(replica_.status(&id), None);
                self.refused.push((replica, id));
                Ok(None)
            }
        }
    }

    /// A replica pushes its outbox: the server decides each command, decoded from the wire as
    /// a server would; unless `lost`, the replica takes in the answers. Returns the answers.
    pub fn push(
        &mut self,
        replica: usize,
        lost: bool,
    ) -> Result<Vec<CommandResult<D::Event>>, TestCaseError> {
        let mut results = Vec::new();
        let pending = self.replicas[replica].pending().to_vec();
        for request in self.replicas[replica].outbox() {
            // An undo or a redo is sent only once the command it hangs on was recorded and
            // has left the queue.
            let tie = pending.iter().find(|p| p.meta.command == request.id).and_then(|p| p.tie);
            if let Some(tie) = tie {
                let follows = tie.follows();
                let recorded =
                    matches!(self.answers.get(&follows), Some(CommandResult::Accepted { .. }));
                prop_assert!(recorded, "{} was sent before {} was recorded", request.id, follows);
                prop_assert!(!pending.iter().any(|p| p.meta.command == follows));
            }
            let command = D::Command::decode(&request.command_type, &request.data).map_err(fail)?;
            let meta = meta(request.id, actor(replica), self.tick());
            let result = self.log.submit(&command, &meta, request.expected.as_ref());
            let first = self.answers.entry(request.id).or_insert_with(|| result.clone());
            prop_assert_eq!(&*first, &result, "a command sent again was answered anew");
            results.push(result);
        }
        if lost {
            return Ok(results);
        }
        let replica_ = &mut self.replicas[replica];
        let report = replica_.acknowledge(&results);
        for result in &results {
            match result {
                CommandResult::Rejected { id, code, message } => {
                    // The server's reason reaches the replica as it was given.
                    prop_assert!(report.rejected.contains(id));
                    let entry = rejected_entry(replica_, *id)?;
                    prop_assert_eq!((&entry.code, &entry.message), (code, message));
                }
                CommandResult::Accepted { id, .. } => {
                    let status = replica_.status(id);
                    prop_assert!(
                        matches!(status, Some(Status::Pending | Status::Accepted)),
                        "{} was accepted but is {:?}",
                        id,
                        status
                    );
                }
            }
        }
        self.note(replica, &report)?;
        self.acknowledged.push(results.clone());
        Ok(results)
    }

    /// A replica pulls at most `limit` events, starting `back` events before its position.
    ///
    /// A queued command is accepted once all of its events are confirmed. Law 4: every other
    /// command that was pending is decided again, in order, on the new confirmed state;
    /// exactly those that no longer hold are refused, each with its reason, and every other
    /// one stays pending, whatever was refused before it.
    pub fn pull(&mut self, replica: usize, back: u64, limit: usize) -> Outcome {
        let replica_ = &mut self.replicas[replica];
        let position = replica_.position();
        let after = self.log.after(position.saturating_sub(back));
        let chunk: Vec<_> = after.iter().take(limit).cloned().collect();
        let queue = replica_.pending().to_vec();
        // A page that reaches the log's head says so, as `GET /v1/events` does.
        let head = self.log.head();
        let at_head = chunk.last().and_then(|e| e.position) == Some(head);
        let report = replica_
            .receive_page(&chunk, at_head.then_some(head))
            .map_err(|gap| fail(format!("{gap:?}")))?;

        let now = replica_.position();
        prop_assert_eq!(now, position.max(chunk.last().and_then(|e| e.position).unwrap_or(0)));
        let new = chunk.iter().filter(|e| e.position > Some(position));
        let recorded: HashSet<Uuid> = new.map(|e| e.meta.command).collect();
        let queued: HashSet<Uuid> = ids(&queue).into_iter().collect();
        let of = |id: Uuid| self.log.events().iter().filter(move |e| e.meta.command == id);
        for id in &report.accepted {
            prop_assert!(recorded.contains(id) || queued.contains(id), "{} came from nowhere", id);
            prop_assert_eq!(replica_.status(id), Some(Status::Accepted));
            // Of another client's command a replica cannot know how many events are to come;
            // its own ones it keeps pending until as many as it decided have arrived. (After a
            // push whose answer was lost, the server may have decided one into more events.)
            let all_here = of(*id).all(|e| e.position <= Some(now));
            let arrived = of(*id).filter(|e| e.position <= Some(now)).count();
            let own = queue.iter().find(|p| p.meta.command == *id);
            let expected = own.map(|p| p.recorded.as_ref().map_or(p.events.len(), Vec::len));
            prop_assert!(
                all_here || expected.is_none_or(|n| arrived >= n),
                "{} accepted before all arrived",
                id
            );
        }

        let now_pending = replica_.pending();
        let mut fold = Fold::confirmed(replica_);
        let mut kept = Vec::new();
        let mut refused = Vec::new();
        for pending in &queue {
            let id = pending.meta.command;
            let in_log: Vec<_> = of(id).collect();
            // After a push whose answer was lost, the server may have decided a command into
            // fewer events than this replica did: it waits for the rest until the log moves
            // past the command.
            let decided = pending.recorded.as_ref().map_or(pending.events.len(), Vec::len);
            let waits = decided > in_log.len() && !report.accepted.contains(&id);
            let all_here = !in_log.is_empty() && in_log.iter().all(|e| e.position <= Some(now));
            if report.accepted.contains(&id) {
                // Checked above, with the other accepted commands.
                continue;
            }
            prop_assert!(!all_here || waits, "{} is all here, not accepted", id);
            match now_pending.iter().find(|p| p.meta.command == id) {
                Some(still) => {
                    let events = match &still.recorded {
                        Some(recorded) => {
                            // What has arrived of it is the server's own copy.
                            let here = recorded.iter().filter(|e| confirmed(replica_, e));
                            let logged = in_log.iter().filter(|e| e.position <= Some(now));
                            prop_assert!(here.eq(logged.copied()));
                            let rest = recorded.iter().filter(|e| !confirmed(replica_, e));
                            rest.cloned().collect()
                        }
                        // An undo may have taken a new compensation.
                        None => fold
                            .decide(&still.command, &still.meta)
                            .map_err(|r| fail(format!("{id} was kept but no longer holds: {r}")))?,
                    };
                    fold.apply(&events);
                    kept.push(id);
                }
                None => {
                    let entry = rejected_entry(replica_, id)?;
                    // An undo or a redo falls with the command it hangs on, for its reason.
                    let follows = pending.tie.map(|tie| tie.follows());
                    let fallen = replica_.rejected().iter().find(|r| Some(r.id) == follows);
                    let rejection = match fallen {
                        Some(fallen) => Rejection::new(&fallen.code, fallen.message.clone()),
                        None => match fold.decide(&entry.command, &pending.meta) {
                            Err(rejection) => rejection,
                            Ok(_) => return Err(fail(format!("{id} left the queue but holds"))),
                        },
                    };
                    let reason = (&entry.code, &entry.message);
                    prop_assert_eq!(reason, (&rejection.code, &rejection.message));
                    refused.push(id);
                }
            }
        }
        prop_assert_eq!(ids(now_pending), kept);
        prop_assert_eq!(&report.rejected, &refused);
        self.note(replica, &report)?;
        self.received.push(chunk);
        Ok(())
    }

    /// Remembers the reasons a replica gave for the commands it just refused.
    fn note(&mut self, replica: usize, report: &Rebased) -> Outcome {
        for id in &report.rejected {
            let entry = rejected_entry(&self.replicas[replica], *id)?;
            self.reasons.entry(*id).or_default().push(entry.code.clone());
        }
        Ok(())
    }

    /// Law 6: a replica saved, serialized and restored is the same replica, and it carries on
    /// in its place.
    pub fn reload(&mut self, replica: usize) -> Outcome {
        let ids = self.ids();
        let before = &self.replicas[replica];
        let json = annals_core::json::to_string(&before.save());
        let saved: Saved<D> = annals_core::json::from_str(&json).map_err(fail)?;
        let (restored, stale) = Replica::restore(saved);
        prop_assert!(!stale, "a replica saved by the same code was restored as stale");
        prop_assert_eq!(Seen::of(&restored, &ids), Seen::of(before, &ids));
        self.replicas[replica] = restored;
        Ok(())
    }

    /// Everyone pushes everything, then everyone pulls to the head, again while an undo
    /// that waited for its command's events has yet to be sent.
    pub fn settle(&mut self) -> Outcome {
        let rounds = self.replicas.iter().map(|r| r.pending().len()).sum::<usize>() + 1;
        for _ in 0..rounds {
            for replica in 0..self.replicas.len() {
                self.push(replica, false)?;
            }
            for replica in 0..self.replicas.len() {
                self.pull(replica, 0, usize::MAX)?;
            }
            if self.replicas.iter().all(|r| r.outbox().is_empty()) {
                break;
            }
        }
        Ok(())
    }

    /// Law 3: after `settle`, every replica holds the server's state and every command has
    /// one final status, the one the server (or a rebase) gave it.
    pub fn check_converged(&self) -> Outcome {
        let events = self.log.events();
        let views = ViewSet::<D>::fold(events);
        for replica in &self.replicas {
            prop_assert_eq!(replica.position(), self.log.head());
            prop_assert!(replica.pending().is_empty(), "still pending: {:?}", replica.pending());
            prop_assert!(replica.outbox().is_empty());
            prop_assert_eq!(replica.confirmed_views(), &views);
            prop_assert_eq!(replica.views(), &views);
            for stream in D::pool() {
                let state = StreamState::<D>::fold(events.iter().filter(|e| e.stream == stream));
                prop_assert_eq!(&self.log.state(&stream), &state);
                prop_assert_eq!(&replica.confirmed_stream(&stream), &state);
                prop_assert_eq!(&replica.stream(&stream), &state);
            }
        }

        let recorded: HashSet<Uuid> = events.iter().map(|e| e.meta.command).collect();
        let heard: HashSet<Uuid> = self.acknowledged.iter().flatten().map(|r| r.id()).collect();
        for &(replica, id) in &self.admitted {
            let entries = self.replicas[replica].rejected().iter();
            let rejected: Vec<&Rejected<D>> = entries.filter(|r| r.id == id).collect();
            // A command accepted with nothing to record (what it asked for already held) leaves
            // no event: only the replica that sent it can tell, from the server's answer. If
            // that answer was lost and a rebase refused the command before it was sent again,
            // the replica keeps the rebase's verdict; nothing was recorded either way.
            let answer = self.answers.get(&id);
            let accepted_empty =
                matches!(answer, Some(CommandResult::Accepted { events, .. }) if events.is_empty());
            if recorded.contains(&id) {
                for other in &self.replicas {
                    prop_assert_eq!(other.status(&id), Some(Status::Accepted));
                }
                prop_assert!(rejected.is_empty(), "{} is accepted and rejected", id);
            } else if accepted_empty && heard.contains(&id) {
                prop_assert_eq!(self.replicas[replica].status(&id), Some(Status::Accepted));
                prop_assert!(rejected.is_empty(), "{} is accepted and rejected", id);
            } else {
                prop_assert_eq!(self.replicas[replica].status(&id), Some(Status::Rejected));
                prop_assert_eq!(rejected.len(), 1, "{} is rejected {} times", id, rejected.len());
                let accepted = matches!(answer, Some(CommandResult::Accepted { .. }));
                prop_assert!(
                    !accepted || accepted_empty,
                    "the server accepted {} but holds no events of it",
                    id
                );
                let given = self.reasons.get(&id).cloned().unwrap_or_default();
                prop_assert!(
                    given.contains(&rejected[0].code),
                    "{} is rejected with {}, but was given {:?}",
                    id,
                    rejected[0].code,
                    given
                );
            }
        }
        for &(replica, id) in &self.refused {
            prop_assert_eq!(self.replicas[replica].status(&id), None);
            prop_assert!(!recorded.contains(&id), "{} was refused at once, yet recorded", id);
        }
        let event_ids: HashSet<Uuid> = events.iter().map(|e| e.id).collect();
        prop_assert_eq!(event_ids.len(), events.len(), "an event id is recorded twice");
        Ok(())
    }
}
