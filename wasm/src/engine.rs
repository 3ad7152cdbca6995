//! One domain's core [`Replica`] behind JSON text in and out, so the exported class can hold
//! either domain without generic bindings. Every rule stays in annals-core: this file only
//! parses, calls the core and serializes.

use annals_core::json::{self, RawJson, ToJson, Writer};
use annals_core::protocol::{
    Attached, CommandRequest, CommandResult, MAX_BATCH, PullResponse, PushRequest,
};
use annals_core::{
    CommandData, Domain, Envelope, Meta, Rebased, Replica, Saved, Stale, Status, Uuid,
};
use annals_core::{EventData, json_struct};
use std::collections::HashSet;

use crate::error::AnnalsError;

/// The version of the stored entry's layout (`{rev, format, domain, saved, dismissed}`).
pub const FORMAT: u32 = 1;

/// The parts of a replica stored apart (see `storage`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// What one tab holds of its own: pending and rejected commands, undo and redo; the
    /// confirmed state left empty at position 0.
    Commands,
    /// The confirmed state, from the server, without commands: one copy for every tab.
    Confirmed,
}

/// What a merge did.
pub struct Merged {
    /// Whether this replica changed: a new position, or commands it did not hold.
    pub changed: bool,
    /// Why the result's confirmed state was dropped, to be pulled again, if it was.
    pub stale: Option<Stale>,
    /// The confirmed position of the saved replica taken in.
    pub position: u64,
}

/// A replica of some domain, driven through JSON text.
pub trait Engine {
    /// The domain's name, e.g. `todo`.
    fn domain(&self) -> &'static str;
    /// Runs a command `{type, data, id?}`; returns `{id, status, events}`.
    fn execute(&mut self, command: &str, actor: &str, at: i64) -> Result<String, AnnalsError>;
    /// Undoes the last command; returns `{id, status, events}`.
    fn undo(&mut self, meta: Meta) -> Result<String, AnnalsError>;
    /// Redoes the last undone command; returns `{id, status, events}`.
    fn redo(&mut self, meta: Meta) -> Result<String, AnnalsError>;
    /// `{position, pending, rejected, canUndo, canRedo}`.
    fn summary(&self) -> String;
    /// A view, or one row of it (`null` when absent).
    fn view(&self, name: &str, key: Option<&str>) -> Result<String, AnnalsError>;
    /// `{stream, version, state}`, optimistic.
    fn stream(&self, stream: &str) -> String;
    /// `{stream, version, state}` at a version.
    fn state_at(&self, stream: &str, version: u64) -> Result<String, AnnalsError>;
    /// `[{id, command, at, events}]`, oldest first.
    fn pending(&self) -> String;
    /// `[{id, command, code, message}]`, oldest first.
    fn rejected(&self) -> String;
    /// Forgets a rejected command.
    fn dismiss(&mut self, id: &Uuid) -> bool;
    /// A command's status, if known.
    fn status(&self, id: &Uuid) -> Option<Status>;
    /// The next push: `{commands: [...]}`, at most [`MAX_BATCH`].
    fn outbox(&self) -> String;
    /// Takes in a push response; returns `{accepted, rejected}`.
    fn acknowledge(&mut self, response: &str) -> Result<String, AnnalsError>;
    /// Takes in events (an array of envelopes, or a page `{events, head}`); returns
    /// `{accepted, rejected, position, head?}`.
    fn receive(&mut self, events: &str) -> Result<String, AnnalsError>;
    /// The confirmed server position.
    fn position(&self) -> u64;
    /// A stored entry, `{rev, format, domain, saved, dismissed}`, of one part of the replica.
    fn entry(&self, rev: &str, dismissed: &[Uuid], part: Part) -> String;
    /// Becomes the union of this replica and a saved one (see [`merge`]), keeping its own
    /// undo and redo, or taking the saved one's when `adopt_undo` and it has none (a reloaded
    /// tab taking over what its previous page could undo).
    fn merge(&mut self, saved: &str, adopt_undo: bool) -> Result<Merged, AnnalsError>;
    /// Empties this replica.
    fn reset(&mut self);
    /// Frees storage, one more `step` each time: first the recent history, then the older
    /// half of the rejected commands. How many rejected commands it dropped; `None` when there
    /// is nothing left to drop.
    fn compact(&mut self, step: usize) -> Option<usize>;
}

/// A command as JavaScript hands it over: `{type, data, id?}`; `data` stays text until the
/// domain decodes it by its type.
struct Incoming {
    id: Option<String>,
    command_type: String,
    data: Option<RawJson>,
    meta: Option<Attached>,
}

json_struct!(Incoming { id, command_type as "type", data, meta });

impl Incoming {
    fn parse(text: &str) -> Result<Incoming, AnnalsError> {
        json::from_str(text).map_err(|e| {
            if e.is_syntax() {
                AnnalsError::invalid_json("The command", &e)
            } else {
                AnnalsError::new(
                    "invalid_command",
                    format!("A command is {{type, data, id?}}: {e}."),
                )
            }
        })
    }
}

/// A command id given by JavaScript.
pub fn parse_id(id: &str) -> Result<Uuid, AnnalsError> {
    json::parse_uuid(id).ok_or_else(|| {
        AnnalsError::new("invalid_id", format!("\"{id}\" is not a command id (a UUID)."))
    })
}

/// A push response: `{results: [{status, id, events? | code?, message?}], head}`.
fn push_results<D: Domain>(text: &str) -> Result<Vec<CommandResult<D::Event>>, AnnalsError> {
    struct PushResults<E: EventData> {
        results: Vec<CommandResult<E>>,
    }
    json_struct!([E: EventData] PushResults<E> { results });
    let response: PushResults<D::Event> = json::from_str(text).map_err(|e| {
        AnnalsError::new("invalid_json", format!("The push response is not valid: {e}."))
    })?;
    Ok(response.results)
}

/// Writes one JSON object whose fields `each` writes.
fn object(each: impl FnOnce(&mut Writer)) -> String {
    let mut w = Writer::default();
    w.begin_object();
    each(&mut w);
    w.end_object();
    w.finish()
}

fn outcome<D: Domain>(replica: &Replica<D>, id: Uuid, events: &[Envelope<D::Event>]) -> String {
    object(|w| {
        w.field("id", &id);
        w.field("status", &replica.status(&id));
        w.field("events", events);
    })
}

fn report<D: Domain>(replica: &Replica<D>, rebased: &Rebased, head: Option<u64>) -> String {
    object(|w| {
        w.field("accepted", &rebased.accepted);
        w.field("rejected", &rebased.rejected);
        w.field("position", &replica.position());
        w.field("head", &head);
    })
}

fn stream_out<S: ToJson>(stream: &str, version: u64, state: &S) -> String {
    object(|w| {
        w.field("stream", stream);
        w.field("version", &version);
        // Written even when it is `None`: a stream with no events has the state `null`.
        w.key("state");
        state.write_json(w);
    })
}

/// A pending command as JavaScript sees it: `{id, command, at, events}`.
struct PendingOut<'a, D: Domain>(&'a annals_core::Pending<D>);

impl<D: Domain> ToJson for PendingOut<'_, D> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        w.field("id", &self.0.meta.command);
        w.field("command", &self.0.command);
        w.field("at", &self.0.meta.at);
        w.field("events", &self.0.events);
        w.end_object();
    }
}

impl<D: Domain> Engine for Replica<D> {
    fn domain(&self) -> &'static str {
        D::NAME
    }

    fn execute(&mut self, command: &str, actor: &str, at: i64) -> Result<String, AnnalsError> {
        let incoming = Incoming::parse(command)?;
        let id = match incoming.id {
            Some(id) => parse_id(&id)?,
            None => crate::clock::command_id(at),
        };
        let data = incoming.data.unwrap_or_else(RawJson::null);
        let command = D::Command::decode(&incoming.command_type, &data)?;
        let meta = Attached::onto(incoming.meta.as_ref(), id, actor, at);
        let events = Replica::execute(self, command, meta)?;
        Ok(outcome(self, id, &events))
    }

    fn undo(&mut self, meta: Meta) -> Result<String, AnnalsError> {
        let id = meta.command;
        let events = Replica::undo(self, meta)?;
        Ok(outcome(self, id, &events))
    }

    fn redo(&mut self, meta: Meta) -> Result<String, AnnalsError> {
        let id = meta.command;
        let events = Replica::redo(self, meta)?;
        Ok(outcome(self, id, &events))
    }

    fn summary(&self) -> String {
        let (can_undo, can_redo) = self.can_undo_redo();
        object(|w| {
            w.field("position", &self.position());
            w.field("pending", &Replica::pending(self).len());
            w.field("rejected", &Replica::rejected(self).len());
            w.field("canUndo", &can_undo);
            w.field("canRedo", &can_redo);
        })
    }

    fn view(&self, name: &str, key: Option<&str>) -> Result<String, AnnalsError> {
        let view = self.views().view(name).ok_or_else(|| {
            let names: Vec<&str> = self.views().names().into_iter().map(|(n, _)| n).collect();
            AnnalsError::new(
                "unknown_view",
                format!("There is no view \"{name}\"; {} has {}.", D::NAME, names.join(", ")),
            )
        })?;
        let value = match key {
            Some(key) => view.get(key).unwrap_or_else(RawJson::null),
            None => view.value(),
        };
        Ok(value.get().to_owned())
    }

    fn stream(&self, stream: &str) -> String {
        let state = Replica::stream(self, stream);
        stream_out(stream, state.version, &state.state)
    }

    fn state_at(&self, stream: &str, version: u64) -> Result<String, AnnalsError> {
        let state = Replica::state_at(self, stream, version).ok_or_else(|| {
            AnnalsError::new(
                "history_unavailable",
                format!(
                    "The events of {stream} up to version {version} are no longer held here; \
                     ask the server for its state at that version."
                ),
            )
        })?;
        Ok(stream_out(stream, state.version, &state.state))
    }

    fn pending(&self) -> String {
        let pending: Vec<_> = Replica::pending(self).iter().map(PendingOut).collect();
        json::to_string(&pending)
    }

    fn rejected(&self) -> String {
        json::to_string(Replica::rejected(self))
    }

    fn dismiss(&mut self, id: &Uuid) -> bool {
        Replica::dismiss(self, id)
    }

    fn status(&self, id: &Uuid) -> Option<Status> {
        Replica::status(self, id)
    }

    fn outbox(&self) -> String {
        let mut commands: Vec<CommandRequest> = Replica::outbox(self);
        commands.truncate(MAX_BATCH);
        json::to_string(&PushRequest { commands })
    }

    fn acknowledge(&mut self, response: &str) -> Result<String, AnnalsError> {
        let results = push_results::<D>(response)?;
        let rebased = Replica::acknowledge(self, &results);
        Ok(report(self, &rebased, None))
    }

    fn receive(&mut self, events: &str) -> Result<String, AnnalsError> {
        let invalid = |e: json::Error| AnnalsError::invalid_json("The events", &e);
        let (events, head) = if events.trim_start().starts_with('{') {
            let page: PullResponse<D::Event> = json::from_str(events).map_err(invalid)?;
            (page.events, Some(page.head))
        } else {
            (json::from_str(events).map_err(invalid)?, None)
        };
        let rebased = Replica::receive_page(self, &events, head).map_err(|gap| {
            AnnalsError::new(
                "gap",
                format!(
                    "The events start at position {}, but this replica needs {} next.",
                    gap.got, gap.expected
                ),
            )
        })?;
        Ok(report(self, &rebased, head))
    }

    fn position(&self) -> u64 {
        Replica::position(self)
    }

    fn entry(&self, rev: &str, dismissed: &[Uuid], part: Part) -> String {
        let mut saved = self.save();
        match part {
            Part::Commands => {
                saved.position = 0;
                saved.streams.clear();
                saved.history.clear();
                for view in &mut saved.views {
                    view.rows.clear();
                }
            }
            Part::Confirmed => {
                saved.pending.clear();
                saved.rejected.clear();
                saved.take_undo();
            }
        }
        object(|w| {
            w.field("rev", rev);
            w.field("format", &FORMAT);
            w.field("domain", D::NAME);
            w.field("saved", &saved);
            w.field("dismissed", dismissed);
        })
    }

    fn merge(&mut self, saved: &str, adopt_undo: bool) -> Result<Merged, AnnalsError> {
        let mut stored = decode_saved::<D>(saved)?;
        let position = stored.position;
        let mut ours = self.save();
        let before = (ours.position, commands_of(&ours));
        let (mine, theirs) = (ours.take_undo(), stored.take_undo());
        let stacks = if adopt_undo && mine.is_empty() { theirs } else { mine };
        let mut merged = if ours.position > stored.position {
            merge(ours, stored).0
        } else {
            merge(stored, ours).0
        };
        merged.put_undo(stacks);
        let changed = before != (merged.position, commands_of(&merged));
        let (replica, stale) = Replica::restore_explained(merged);
        *self = replica;
        Ok(Merged { changed, stale, position })
    }

    fn reset(&mut self) {
        *self = Replica::new();
    }

    fn compact(&mut self, step: usize) -> Option<usize> {
        if step == 0 {
            self.set_history_limit(0);
            return Some(0);
        }
        let rejected = Replica::rejected(self);
        if rejected.is_empty() {
            return None;
        }
        let older: Vec<Uuid> =
            rejected.iter().take(rejected.len().div_ceil(2)).map(|r| r.id).collect();
        for id in &older {
            Replica::dismiss(self, id);
        }
        Some(older.len())
    }
}

/// The ids of a saved replica's pending and rejected commands, in order.
fn commands_of<D: Domain>(saved: &Saved<D>) -> (Vec<Uuid>, Vec<Uuid>) {
    let pending = saved.pending.iter().map(|p| p.meta.command).collect();
    (pending, saved.rejected.iter().map(|r| r.id).collect())
}

fn decode_saved<D: Domain>(saved: &str) -> Result<Saved<D>, AnnalsError> {
    json::from_str(saved).map_err(|e| {
        AnnalsError::new("corrupt_entry", format!("The saved replica cannot be read: {e}."))
    })
}

/// The union of two saved replicas of one key (two tabs' entries, or a tab's and the
/// confirmed one): `base`'s confirmed state, plus every command of `other` that `base` does
/// not know, pending or rejected: a command is never lost, and never doubled since ids are
/// kept. A command `other` saw rejected (by the server or a rebase) is rejected in the result
/// too. Dismissed commands are forgotten by the caller after the merge (`Entry::dismissed`).
/// The flag says whether the result differs from `base` in its commands.
pub fn merge<D: Domain>(mut base: Saved<D>, other: Saved<D>) -> (Saved<D>, bool) {
    let mut changed = false;
    let mut known: HashSet<Uuid> = base.pending.iter().map(|p| p.meta.command).collect();
    known.extend(base.rejected.iter().map(|r| r.id));
    known.extend(base.accepted.iter().copied());
    for rejected in other.rejected {
        if let Some(index) = base.pending.iter().position(|p| p.meta.command == rejected.id) {
            base.pending.remove(index);
            base.rejected.push(rejected);
            changed = true;
        } else if known.insert(rejected.id) {
            base.rejected.push(rejected);
            changed = true;
        }
    }
    for pending in other.pending {
        let id = pending.meta.command;
        if known.insert(id) {
            base.pending.push(pending);
            changed = true;
        }
    }
    for id in other.accepted {
        if known.insert(id) {
            base.accepted.push(id);
        }
    }
    (base, changed)
}
