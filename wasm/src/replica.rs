//! The exported class `Replica`: a domain's client replica with its storage. JSON text goes in
//! and out (the package's JavaScript parses it), which keeps the module small and fast.
//!
//! Every change is written to storage before it is reported: an `execute` that cannot be
//! stored fails with `storage_full` and is not applied. A replica writes only its own entry
//! (see `storage`), and before each change takes in what the other entries gained since it
//! last looked, merging pending commands by id.

use std::collections::VecDeque;

use annals_core::{Domain, Meta, Stale, Status, Uuid, json, json_struct};
use wasm_bindgen::prelude::*;

use crate::clock;
use crate::engine::{Engine, FORMAT, Part, parse_id};
use crate::error::AnnalsError;
use crate::storage::{Entry, SOFT_LIMIT, Store, WriteError};

/// Something the replica wants its user to know after opening (see `openWarnings`).
#[derive(Clone, Debug)]
struct Warning {
    code: String,
    message: String,
    key: Option<String>,
}

json_struct!(Warning { code, message, key });

/// A client replica of one domain: confirmed state at a server position, pending commands
/// applied optimistically, rejected commands with their reasons, kept in localStorage or in
/// memory.
#[wasm_bindgen]
pub struct Replica {
    engine: Box<dyn Engine>,
    store: Store,
    key: String,
    actor: String,
    /// Rejected commands dismissed here or in another tab, lately (see `Entry::dismissed`).
    dismissed: VecDeque<Uuid>,
    warnings: Vec<Warning>,
}

type Result<T> = std::result::Result<T, AnnalsError>;

/// How many dismissed command ids a replica stores for the other tabs to forget too.
const DISMISSED: usize = 500;

impl Replica {
    /// Opens the replica of domain `D` kept in `storage` (`local` or `memory`) under `key`
    /// (`annals/<domain>` by default). Commands run here carry `actor` (default `local`).
    ///
    /// An unreadable stored entry is moved aside and the replica opens empty; see
    /// `openWarnings`. An entry of another domain is left alone and opening fails. This is
    /// what the function `open` that [`export!`](crate::export) writes calls.
    ///
    /// `writer` names this replica's own entry, `<key>/tab/<writer>` (a new random one when
    /// `None`); the package holds a Web Lock named `annals:writer:<writer>` while the replica
    /// lives, which is how other tabs know when its entry may be retired.
    pub fn open<D: Domain>(
        storage: &str,
        key: Option<String>,
        writer: Option<String>,
        actor: Option<String>,
    ) -> std::result::Result<Replica, JsValue> {
        let key = key.filter(|k| !k.is_empty()).unwrap_or_else(|| format!("annals/{}", D::NAME));
        let writer = writer.filter(|w| !w.is_empty() && !w.contains('/'));
        let mut replica = Replica {
            engine: Box::new(annals_core::Replica::<D>::new()),
            store: Store::open(storage, &key, &writer.unwrap_or_else(clock::revision))?,
            key,
            actor: actor.filter(|a| !a.is_empty()).unwrap_or_else(|| "local".to_owned()),
            dismissed: VecDeque::new(),
            warnings: Vec::new(),
        };
        replica.load()?;
        Ok(replica)
    }
}

#[wasm_bindgen]
impl Replica {
    /// The domain's name.
    pub fn domain(&self) -> String {
        self.engine.domain().to_owned()
    }

    /// The localStorage key this replica is kept under.
    pub fn key(&self) -> String {
        self.key.clone()
    }

    /// Runs `{type, data, id?}` against the optimistic state and stores it. Returns
    /// `{id, status, events}`; throws the rejection (e.g. `insufficient_stock`) or
    /// `storage_full`, and then nothing changed.
    pub fn execute(&mut self, command: &str) -> std::result::Result<String, JsValue> {
        self.change(|engine, actor| engine.execute(command, actor, clock::now()))
    }

    /// Undoes the last command by running its compensating command.
    pub fn undo(&mut self) -> std::result::Result<String, JsValue> {
        self.change(|engine, actor| engine.undo(meta(actor)))
    }

    /// Runs the last undone command again.
    pub fn redo(&mut self) -> std::result::Result<String, JsValue> {
        self.change(|engine, actor| engine.redo(meta(actor)))
    }

    /// Forgets a rejected command once the user has seen it; `false` if it was not there.
    pub fn dismiss(&mut self, id: &str) -> std::result::Result<bool, JsValue> {
        let id = parse_id(id)?;
        let dismissed = self.change(|engine, _| Ok(engine.dismiss(&id)))?;
        if dismissed {
            self.remember_dismissed(id);
            // Stored again, so the other tabs forget it too.
            self.persist()?;
        }
        Ok(dismissed)
    }

    /// `{position, pending, rejected, canUndo, canRedo}`.
    pub fn summary(&self) -> String {
        self.engine.summary()
    }

    /// A read model as JSON, or its row under `key` (`null` when absent).
    pub fn view(&self, name: &str, key: Option<String>) -> std::result::Result<String, JsValue> {
        Ok(self.engine.view(name, key.as_deref())?)
    }

    /// `{stream, version, state}` of a stream, pending commands included.
    pub fn stream(&self, stream: &str) -> String {
        self.engine.stream(stream)
    }

    /// `{stream, version, state}` of a stream at `version`; throws `history_unavailable` when
    /// its early events are no longer held here.
    #[wasm_bindgen(js_name = stateAt)]
    pub fn state_at(&self, stream: &str, version: f64) -> std::result::Result<String, JsValue> {
        if !(version >= 0.0 && version.fract() == 0.0) {
            let message = "A version is a whole number of 0 or more.";
            return Err(AnnalsError::new("invalid_option", message).into());
        }
        Ok(self.engine.state_at(stream, version as u64)?)
    }

    /// `[{id, command, at, events}]`, oldest first.
    pub fn pending(&self) -> String {
        self.engine.pending()
    }

    /// `[{id, command, code, message}]`, oldest first.
    pub fn rejected(&self) -> String {
        self.engine.rejected()
    }

    /// `pending`, `accepted` or `rejected`; `undefined` for an id this replica does not know.
    pub fn status(&self, id: &str) -> std::result::Result<Option<String>, JsValue> {
        let status = self.engine.status(&parse_id(id)?);
        Ok(status.map(|status| {
            match status {
                Status::Pending => "pending",
                Status::Accepted => "accepted",
                Status::Rejected => "rejected",
            }
            .to_owned()
        }))
    }

    /// The body of the next `POST /v1/commands`: `{commands: [...]}`.
    pub fn outbox(&self) -> String {
        self.engine.outbox()
    }

    /// Takes in the response of `POST /v1/commands`; returns `{accepted, rejected, position}`.
    pub fn acknowledge(&mut self, response: &str) -> std::result::Result<String, JsValue> {
        Ok(self.sync_change(|engine| engine.acknowledge(response))?)
    }

    /// Takes in server events: an array of envelopes, or a page `{events, head}` of
    /// `GET /v1/events`. Returns `{accepted, rejected, position}`; throws `gap` when they do
    /// not follow this replica's position.
    pub fn receive(&mut self, events: &str) -> std::result::Result<String, JsValue> {
        Ok(self.sync_change(|engine| engine.receive(events))?)
    }

    /// The server position the confirmed state reflects.
    pub fn position(&self) -> f64 {
        self.engine.position() as f64
    }

    /// Takes in what the other entries under the key gained since this replica last looked
    /// (another tab or replica wrote). `true` when something changed here.
    pub fn refresh(&mut self) -> std::result::Result<bool, JsValue> {
        Ok(self.take_in()?)
    }

    /// This replica's writer id (its entry is `<key>/tab/<writer>`); `undefined` in memory.
    pub fn writer(&self) -> Option<String> {
        match &self.store {
            Store::Local(local) => Some(local.writer.clone()),
            Store::Memory => None,
        }
    }

    /// The writers of the other entries under the key, as a JSON array.
    pub fn writers(&self) -> String {
        match &self.store {
            Store::Local(local) => json::to_string(&local.writers()),
            Store::Memory => "[]".to_owned(),
        }
    }

    /// Takes in the entry of a writer that is gone (its tab closed), stores what it held in
    /// this replica's own entry, and only then removes it. `true` when something changed here.
    /// The caller makes sure the writer is gone (the package checks its Web Lock): a writer
    /// that still lives could write again between the read and the removal.
    pub fn retire(&mut self, writer: &str) -> std::result::Result<bool, JsValue> {
        let Store::Local(local) = &self.store else { return Ok(false) };
        if writer == local.writer || writer.is_empty() || writer.contains('/') {
            return Ok(false);
        }
        let key = local.key_of(writer);
        let Some(text) = local.read(&key)? else { return Ok(false) };
        let changed = self.take_in_entry(&key, &text, true)?;
        self.persist()?;
        if let Store::Local(local) = &mut self.store {
            local.remove(&key);
        }
        Ok(changed)
    }

    /// What opening (or storing) had to report: `[{code, message, key?}]`, e.g.
    /// `corrupt_entry` with the quarantine key the unreadable entry was moved to.
    #[wasm_bindgen(js_name = openWarnings)]
    pub fn open_warnings(&self) -> String {
        json::to_string(&self.warnings)
    }
}

impl Replica {
    /// Takes in every entry under the key when opening. Nothing is written: what was taken in
    /// is still in the entries it came from. An entry of an earlier version under the key
    /// itself is the exception: it is removed once its commands are stored in this replica's
    /// own.
    fn load(&mut self) -> Result<()> {
        let Store::Local(local) = &self.store else { return Ok(()) };
        let legacy = local.read(&local.key)?.is_some();
        if let Some(text) = local.read_own()? {
            // A writer id given again (the same replica reopened): its entry is its own state.
            let key = local.own_key();
            self.take_in_entry(&key, &text, true)?;
        }
        self.take_in()?;
        if legacy {
            match self.persist() {
                Ok(()) => {
                    if let Store::Local(local) = &mut self.store {
                        let key = local.key.clone();
                        local.remove(&key);
                    }
                }
                Err(error) => self.warn(&error.code, &error.message, None),
            }
        }
        Ok(())
    }

    /// Takes in what the other entries gained since this replica last looked: `true` when
    /// something changed here.
    fn take_in(&mut self) -> Result<bool> {
        let Store::Local(local) = &self.store else { return Ok(false) };
        let mut changed = false;
        for (key, text) in local.others()? {
            changed |= self.take_in_entry(&key, &text, false)?;
        }
        Ok(changed)
    }

    /// Merges one stored entry into this replica, unless it was taken in as it is already. An
    /// entry that cannot be read, or of another domain, is moved aside with a warning. The undo
    /// and redo stay this replica's own, unless it has none and `adopt_undo` (the entry is of
    /// a writer that is gone: the page this one reloads).
    fn take_in_entry(&mut self, key: &str, text: &str, adopt_undo: bool) -> Result<bool> {
        let Store::Local(local) = &self.store else { return Ok(false) };
        if local.is_seen(key, text) && !adopt_undo {
            return Ok(false);
        }
        let merged = self.entry_of(key, text).and_then(|entry| {
            let merged = self.engine.merge(&entry.saved, adopt_undo)?;
            Ok((entry, merged))
        });
        match merged {
            Ok((entry, mut merged)) => {
                if let Store::Local(local) = &mut self.store {
                    local.see(key, &entry.rev);
                    if key == local.confirmed_key() {
                        local.confirmed = local.confirmed.max(merged.position);
                    }
                }
                for id in entry.dismissed {
                    self.remember_dismissed(id);
                }
                // Again after every merge: another entry may still hold a dismissed command.
                for id in &self.dismissed {
                    merged.changed |= self.engine.dismiss(id);
                }
                if let Some(stale) = &merged.stale {
                    let why = match stale {
                        Stale::OtherRules => "was made by another version of the rules".to_owned(),
                        Stale::Unreadable { view, key, error } => format!(
                            "could not be read (row \"{key}\" of the view {view}: {})",
                            error.trim_end_matches('.')
                        ),
                    };
                    let message = format!(
                        "The saved confirmed state {why}; it is pulled again from the server. \
                         Pending and rejected commands were kept."
                    );
                    self.warn("state_rebuilt", &message, None);
                }
                Ok(merged.changed)
            }
            Err(error) => {
                self.quarantine(key, text, &error)?;
                Ok(false)
            }
        }
    }

    /// Reads a stored entry, checking its layout and domain.
    fn entry_of(&self, key: &str, text: &str) -> Result<Entry> {
        let entry = Entry::parse(text)?;
        if entry.format != u64::from(FORMAT) {
            return Err(AnnalsError::new(
                "corrupt_entry",
                format!(
                    "The stored entry has layout {}; this package reads {FORMAT}.",
                    entry.format
                ),
            ));
        }
        if entry.domain != self.engine.domain() {
            return Err(AnnalsError::new(
                "wrong_domain",
                format!("\"{key}\" holds a {} replica, not {}", entry.domain, self.engine.domain()),
            ));
        }
        Ok(entry)
    }

    /// Moves an unreadable entry aside, with a warning saying where it went. If there is no
    /// room to move it, it stays untouched, and is not read again until it changes.
    fn quarantine(&mut self, key: &str, text: &str, error: &AnnalsError) -> Result<()> {
        let Store::Local(local) = &mut self.store else { return Ok(()) };
        let reason = error.message.trim_end_matches('.');
        match local.quarantine(key, text, clock::now()) {
            Ok(target) => {
                let message = format!(
                    "The stored entry \"{key}\" could not be read ({reason}); it was moved to \
                     \"{target}\" and the replica opened without it."
                );
                self.warn("corrupt_entry", &message, Some(target));
            }
            Err(full) => {
                if let Ok(entry) = Entry::parse(text) {
                    local.see(key, &entry.rev);
                }
                let message = format!("{} ({reason})", full.message);
                self.warn(&full.code, &message, Some(key.to_owned()));
            }
        }
        Ok(())
    }

    /// A user's change: the other entries taken in first, then applied, then stored; undone if
    /// it cannot be stored.
    fn change<T>(
        &mut self,
        apply: impl FnOnce(&mut dyn Engine, &str) -> Result<T>,
    ) -> std::result::Result<T, JsValue> {
        self.take_in()?;
        let out = apply(self.engine.as_mut(), &self.actor)?;
        if let Err(error) = self.persist() {
            self.rollback();
            return Err(error.into());
        }
        Ok(out)
    }

    /// A change from the server: applied even when it cannot be stored (the server keeps it,
    /// and sends it again after a reload), with a warning saying so.
    fn sync_change(
        &mut self,
        apply: impl FnOnce(&mut dyn Engine) -> Result<String>,
    ) -> Result<String> {
        let out = apply(self.engine.as_mut())?;
        if let Err(error) = self.persist() {
            let message = if error.code == "storage_full" {
                "Storage is full: what the server sent is applied here but could not be saved; \
                 it is fetched again after a reload. Pending commands are still stored."
                    .to_owned()
            } else {
                error.message
            };
            self.warn(&error.code, &message, None);
        }
        Ok(out)
    }

    /// Stores this replica: its commands in its own entry, and the confirmed state when it
    /// has it at a further position than the stored one.
    fn persist(&mut self) -> Result<()> {
        self.persist_commands()?;
        self.persist_confirmed();
        Ok(())
    }

    /// Writes this replica's own entry, compacting step by step while the quota refuses it;
    /// says so when that dropped refused commands.
    fn persist_commands(&mut self) -> Result<()> {
        if !matches!(self.store, Store::Local(_)) {
            return Ok(());
        }
        let rev = clock::revision();
        let dismissed: Vec<Uuid> = self.dismissed.iter().copied().collect();
        let mut step = 0;
        let mut dropped = 0;
        loop {
            let text = self.engine.entry(&rev, &dismissed, Part::Commands);
            let Store::Local(local) = &self.store else { return Ok(()) };
            match local.write(&text) {
                Ok(()) => break,
                Err(WriteError::Failed(error)) => return Err(error),
                Err(WriteError::Full) if step == 0 => {
                    // First the recent history, which is in the stored confirmed state.
                    let stored = local.confirmed > 0;
                    if self.engine.compact(0).is_some() && stored {
                        self.rewrite_confirmed();
                    }
                    step = 1;
                }
                Err(WriteError::Full) => {
                    let Some(count) = self.engine.compact(step) else {
                        return Err(AnnalsError::new(
                            "storage_full",
                            format!(
                                "Storage is full: the replica under \"{}\" cannot be saved, so \
                                 the change was not made. Free some space (or sync and dismiss \
                                 rejected commands) and try again.",
                                local.key
                            ),
                        ));
                    };
                    dropped += count;
                    step += 1;
                }
            }
        }
        if let Store::Local(local) = &mut self.store {
            let key = local.own_key();
            local.see(&key, &rev);
        }
        if dropped > 0 {
            let message = format!(
                "Storage was full: to make room, the {dropped} oldest refused command{} {} \
                 dropped from the list of refused commands.",
                if dropped == 1 { "" } else { "s" },
                if dropped == 1 { "was" } else { "were" }
            );
            self.warn("rejected_dropped", &message, None);
        }
        Ok(())
    }

    /// Writes the confirmed state when this replica has it at a further position than the
    /// stored one, dropping the recent history first if it does not fit. If it still does not,
    /// it is left out, with a warning: it comes from the server, which sends it again.
    fn persist_confirmed(&mut self) {
        let Store::Local(local) = &self.store else { return };
        if self.engine.position() > local.confirmed {
            self.rewrite_confirmed();
        }
    }

    /// Writes the confirmed state (see `persist_confirmed`).
    fn rewrite_confirmed(&mut self) {
        let Store::Local(local) = &self.store else { return };
        let position = self.engine.position();
        let rev = clock::revision();
        let mut text = self.engine.entry(&rev, &[], Part::Confirmed);
        if text.len() > SOFT_LIMIT && self.engine.compact(0).is_some() {
            text = self.engine.entry(&rev, &[], Part::Confirmed);
        }
        let mut written = local.write_confirmed(&text);
        if matches!(written, Err(WriteError::Full)) && self.engine.compact(0).is_some() {
            text = self.engine.entry(&rev, &[], Part::Confirmed);
            written = local.write_confirmed(&text);
        }
        match written {
            Ok(()) => {
                if let Store::Local(local) = &mut self.store {
                    local.confirmed = position;
                    let key = local.confirmed_key();
                    local.see(&key, &rev);
                }
            }
            Err(_) if !self.warnings.iter().any(|w| w.code == "confirmed_unsaved") => {
                let message = "Storage is full: what the server sent is applied here but could \
                               not be saved; it is fetched again after a reload. Pending commands \
                               are still stored.";
                self.warn("confirmed_unsaved", message, None);
            }
            Err(_) => {}
        }
    }

    /// Goes back to what is stored after a change that could not be stored: this replica's
    /// own entry, or if it has none yet, the others'.
    fn rollback(&mut self) {
        let Store::Local(local) = &mut self.store else { return };
        let own = local.own_key();
        let text = local.read_own().ok().flatten();
        local.seen.clear();
        self.engine.reset();
        if let Some(text) = text {
            let _ = self.take_in_entry(&own, &text, true);
        }
        let _ = self.take_in();
    }

    /// Keeps a dismissed command's id, the last [`DISMISSED`] of them, to store.
    fn remember_dismissed(&mut self, id: Uuid) {
        if !self.dismissed.contains(&id) {
            self.dismissed.push_back(id);
            if self.dismissed.len() > DISMISSED {
                self.dismissed.pop_front();
            }
        }
    }

    fn warn(&mut self, code: &str, message: &str, key: Option<String>) {
        self.warnings.push(Warning { code: code.to_owned(), message: message.to_owned(), key });
    }
}

fn meta(actor: &str) -> Meta {
    let at = clock::now();
    Meta::new(clock::command_id(at), actor, at)
}
