//! The exported class `Replica`: a domain's client replica with its storage. JSON text goes in
//! and out (the package's JavaScript parses it), which keeps the module small and fast.
//!
//! Every change is written to storage before it is reported: an `execute` that cannot be
//! stored fails with `storage_full` and is not applied. Before each write the replica re-reads
//! the entry and, if another tab or replica wrote since, merges its pending commands by id.

use annals_core::{Domain, Meta, Status, json, json_struct};
use wasm_bindgen::prelude::*;

use crate::clock;
use crate::engine::{Engine, FORMAT, parse_id};
use crate::error::AnnalsError;
use crate::storage::{Entry, Local, SOFT_LIMIT, Store, WriteError};

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
    warnings: Vec<Warning>,
}

type Result<T> = std::result::Result<T, AnnalsError>;

impl Replica {
    /// Opens the replica of domain `D` kept in `storage` (`local` or `memory`) under `key`
    /// (`annals/<domain>` by default). Commands run here carry `actor` (default `local`).
    ///
    /// An unreadable stored entry is moved aside and the replica opens empty; see
    /// `openWarnings`. An entry of another domain is left alone and opening fails. This is
    /// what the function `open` that [`export!`](crate::export) writes calls.
    pub fn open<D: Domain>(
        storage: &str,
        key: Option<String>,
        actor: Option<String>,
    ) -> std::result::Result<Replica, JsValue> {
        let key = key.filter(|k| !k.is_empty()).unwrap_or_else(|| format!("annals/{}", D::NAME));
        let mut replica = Replica {
            engine: Box::new(annals_core::Replica::<D>::new()),
            store: Store::open(storage, &key)?,
            key,
            actor: actor.filter(|a| !a.is_empty()).unwrap_or_else(|| "local".to_owned()),
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
        self.change(|engine, _| Ok(engine.dismiss(&id)))
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

    /// Re-reads the stored entry after another tab or replica wrote it, keeping any pending
    /// command of this one that it lacks. `true` when something changed.
    pub fn refresh(&mut self) -> std::result::Result<bool, JsValue> {
        let (changed, write_back) = self.adopt()?;
        if write_back {
            // The merged state holds commands the stored one lacks: store them, and if even
            // that fails they are still held here and retried on the next write.
            if let Err(error) = self.persist() {
                self.warn(&error.code, &error.message, None);
            }
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
    /// Reads the stored entry, if any, when opening.
    fn load(&mut self) -> Result<()> {
        let Store::Local(local) = &self.store else { return Ok(()) };
        let Some(text) = local.read()? else { return Ok(()) };
        match self.entry_of(&text) {
            Ok(entry) => {
                let stale = self.engine.restore(&entry.saved);
                match stale {
                    Ok(stale) => {
                        self.set_rev(Some(entry.rev));
                        if stale {
                            self.warn(
                                "state_rebuilt",
                                "The saved confirmed state was made by another version of the \
                                 rules; it is pulled again from the server. Pending and \
                                 rejected commands were kept.",
                                None,
                            );
                        }
                        Ok(())
                    }
                    Err(error) => self.quarantine(&text, &error),
                }
            }
            Err(error) if error.code == "wrong_domain" => Err(error),
            Err(error) => self.quarantine(&text, &error),
        }
    }

    /// Reads a stored entry, checking its layout and domain.
    fn entry_of(&self, text: &str) -> Result<Entry> {
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
            let key = match &self.store {
                Store::Local(local) => local.key.as_str(),
                Store::Memory => "",
            };
            return Err(AnnalsError::new(
                "wrong_domain",
                format!(
                    "\"{key}\" holds a {} replica, not {}; open it with that domain's package \
                     or use another key.",
                    entry.domain,
                    self.engine.domain()
                ),
            ));
        }
        Ok(entry)
    }

    /// Moves an unreadable entry aside and opens empty, with a warning saying where it went.
    /// If there is no room to move it, it stays untouched and this replica keeps its changes
    /// in memory only, saying so.
    fn quarantine(&mut self, text: &str, error: &AnnalsError) -> Result<()> {
        let Store::Local(local) = &self.store else { return Ok(()) };
        let key = local.key.clone();
        let target = match local.quarantine(text, clock::now()) {
            Ok(target) => target,
            Err(full) => {
                self.engine.reset();
                self.store = Store::Memory;
                let message = format!(
                    "{} Until then this replica keeps its changes in memory only.",
                    full.message
                );
                self.warn(&full.code, &message, Some(key));
                return Ok(());
            }
        };
        self.engine.reset();
        self.set_rev(None);
        self.warn(
            "corrupt_entry",
            &format!(
                "The stored replica under \"{key}\" could not be read ({}); it was moved to \
                 \"{target}\" and the replica opened without it.",
                error.message.trim_end_matches('.')
            ),
            Some(target),
        );
        Ok(())
    }

    /// Takes in the stored entry if another writer changed it: `(changed, write_back)`.
    fn adopt(&mut self) -> Result<(bool, bool)> {
        let Store::Local(local) = &self.store else { return Ok((false, false)) };
        let text = local.read()?;
        if local.is_current(text.as_deref()) {
            return Ok((false, false));
        }
        // Removed from outside (e.g. the user cleared site data): what is held here is all
        // there is, and the next write puts it back.
        let Some(text) = text else {
            self.set_rev(None);
            return Ok((false, true));
        };
        match self.entry_of(&text) {
            Ok(entry) => match self.engine.merge(&entry.saved) {
                Ok(write_back) => {
                    self.set_rev(Some(entry.rev));
                    Ok((true, write_back))
                }
                Err(error) => {
                    self.quarantine_keeping_state(&text, &error)?;
                    Ok((false, true))
                }
            },
            Err(error) if error.code == "wrong_domain" => Err(error),
            Err(error) => {
                self.quarantine_keeping_state(&text, &error)?;
                Ok((false, true))
            }
        }
    }

    /// Moves an unreadable entry aside while this replica keeps its state (to be written back).
    fn quarantine_keeping_state(&mut self, text: &str, error: &AnnalsError) -> Result<()> {
        let Store::Local(local) = &self.store else { return Ok(()) };
        let key = local.key.clone();
        let target = local.quarantine(text, clock::now())?;
        self.set_rev(None);
        self.warn(
            "corrupt_entry",
            &format!(
                "The entry under \"{key}\" could not be read ({}); it was moved to \"{target}\" \
                 and replaced by this replica's state.",
                error.message.trim_end_matches('.')
            ),
            Some(target),
        );
        Ok(())
    }

    /// A user's change: merged with the stored entry first, stored after, undone if it cannot
    /// be stored.
    fn change<T>(
        &mut self,
        apply: impl FnOnce(&mut dyn Engine, &str) -> Result<T>,
    ) -> std::result::Result<T, JsValue> {
        self.adopt()?;
        let out = apply(self.engine.as_mut(), &self.actor)?;
        if let Err(error) = self.persist() {
            self.rollback();
            return Err(error.into());
        }
        Ok(out)
    }

    /// A change from the server: applied even when it cannot be stored (the server keeps it),
    /// with a warning; the pending commands are already stored.
    fn sync_change(
        &mut self,
        apply: impl FnOnce(&mut dyn Engine) -> Result<String>,
    ) -> Result<String> {
        self.adopt()?;
        let out = apply(self.engine.as_mut())?;
        if let Err(error) = self.persist() {
            self.warn(&error.code, &error.message, None);
        }
        Ok(out)
    }

    /// Writes the replica, compacting step by step while the quota refuses it.
    fn persist(&mut self) -> Result<()> {
        let Store::Local(local) = &self.store else { return Ok(()) };
        let rev = clock::revision();
        let mut step = 0;
        let mut text = self.engine.entry(&rev);
        if text.len() > SOFT_LIMIT && self.engine.compact(0) {
            step = 1;
            text = self.engine.entry(&rev);
        }
        loop {
            match local.write(&text) {
                Ok(()) => break,
                Err(WriteError::Failed(error)) => return Err(error),
                Err(WriteError::Full) => {
                    if !self.engine.compact(step) {
                        return Err(AnnalsError::new(
                            "storage_full",
                            format!(
                                "Storage is full: the replica under \"{}\" cannot be saved, so \
                                 the change was not made. Free some space (or sync and dismiss \
                                 rejected commands) and try again.",
                                local.key
                            ),
                        ));
                    }
                    step += 1;
                    text = self.engine.entry(&rev);
                }
            }
        }
        self.set_rev(Some(rev));
        Ok(())
    }

    /// Goes back to the stored entry after a change that could not be stored.
    fn rollback(&mut self) {
        let Store::Local(local) = &self.store else { return };
        let text = local.read().ok().flatten();
        let restored = text.as_deref().map(|text| {
            let entry = self.entry_of(text)?;
            self.engine.restore(&entry.saved)
        });
        match restored {
            Some(Ok(_)) => {}
            Some(Err(_)) | None => self.engine.reset(),
        }
    }

    fn set_rev(&mut self, rev: Option<String>) {
        if let Store::Local(Local { rev: current, .. }) = &mut self.store {
            *current = rev;
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
