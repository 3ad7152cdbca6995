//! Where a replica is kept: localStorage (through gloo-storage), or nowhere ("memory", for
//! Node and tests).
//!
//! Each replica writes its commands (pending, rejected, undo) in an entry of its own,
//! `<key>/tab/<writer>`, and no other's: no such entry is ever written by two tabs, so no
//! write can overwrite another's commands from an out-of-date read (localStorage has no
//! transactions, and a tab may see another's writes late). The confirmed state, which comes
//! from the server and can be pulled again, is stored once for all tabs in `<key>/confirmed`,
//! written by whichever tab has it at a further position. A replica reads every entry under
//! the key and keeps the union of them (`engine::merge`); it removes the entry of a writer
//! that is gone (`retire`) only after storing what it held in its own.
//! An entry is `{rev, format, domain, saved, dismissed}`, `rev` changing on every write. An entry that
//! cannot be read is moved aside to `<key>/quarantine/<timestamp>`, never deleted. Entries
//! stored by earlier versions under `<key>` itself are read the same way and removed once
//! taken in.

use annals_core::Uuid;
use annals_core::json::{self, RawJson};
use gloo_storage::{LocalStorage, Storage};
use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::AnnalsError;

/// Above this many bytes the recent history is dropped before writing, to stay clear of the
/// browser's quota (about 5 million characters per origin).
pub const SOFT_LIMIT: usize = 2_500_000;

/// Where a replica is kept.
pub enum Store {
    /// Nowhere: the replica lives as long as the page or process.
    Memory,
    /// localStorage under a key.
    Local(Local),
}

/// A localStorage key, this replica's entry under it, and what it has read of the others.
pub struct Local {
    /// The key.
    pub key: String,
    /// This replica's own id: its entry is `<key>/tab/<writer>`.
    pub writer: String,
    /// The `rev` of each other entry as last taken in, by its storage key (a few tabs: a
    /// list costs less code in the module than a map).
    pub seen: Vec<(String, String)>,
    /// The position of the stored confirmed state, as last read or written.
    pub confirmed: u64,
}

/// Why a write did not happen.
pub enum WriteError {
    /// The browser refused it: the origin's quota is used up.
    Full,
    /// Storage failed otherwise.
    Failed(AnnalsError),
}

/// A stored entry; `saved` is kept as text for the domain's engine to decode.
pub struct Entry {
    /// Changes on every write.
    pub rev: String,
    /// The layout's version.
    pub format: u64,
    /// The domain that wrote it.
    pub domain: String,
    /// The saved replica.
    pub saved: RawJson,
    /// Rejected commands its writer dismissed lately: the others forget them too (a union of
    /// saved replicas cannot tell a dismissed command from one not seen yet).
    pub dismissed: Vec<Uuid>,
}

annals_core::json_struct!(Entry { rev, format = 0, domain, saved, dismissed = Vec::new() });

impl Entry {
    /// Reads an entry's text.
    pub fn parse(text: &str) -> Result<Entry, AnnalsError> {
        json::from_str(text).map_err(|e| {
            AnnalsError::new("corrupt_entry", format!("The stored entry is not valid: {e}."))
        })
    }
}

impl Store {
    /// The store named `storage` (`local` or `memory`) for `key`, this replica writing as
    /// `writer`.
    pub fn open(storage: &str, key: &str, writer: &str) -> Result<Store, AnnalsError> {
        match storage {
            "memory" => Ok(Store::Memory),
            "local" => {
                if key.is_empty() {
                    return Err(AnnalsError::new(
                        "invalid_option",
                        "storage \"local\" needs a key, such as \"annals/todo\".",
                    ));
                }
                local_storage_available()?;
                let writer = writer.to_owned();
                let seen = Vec::new();
                Ok(Store::Local(Local { key: key.to_owned(), writer, seen, confirmed: 0 }))
            }
            other => Err(AnnalsError::new(
                "invalid_option",
                format!("There is no storage \"{other}\"; use \"local\" or \"memory\"."),
            )),
        }
    }
}

impl Local {
    /// The storage key of this replica's own entry.
    pub fn own_key(&self) -> String {
        format!("{}/tab/{}", self.key, self.writer)
    }

    /// The storage key of the confirmed state.
    pub fn confirmed_key(&self) -> String {
        format!("{}/confirmed", self.key)
    }

    /// The storage key of a writer's entry.
    pub fn key_of(&self, writer: &str) -> String {
        format!("{}/tab/{writer}", self.key)
    }

    /// The writers of the other entries under the key.
    pub fn writers(&self) -> Vec<String> {
        let prefix = format!("{}/tab/", self.key);
        stored_keys()
            .into_iter()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .filter(|writer| *writer != self.writer && !writer.contains('/'))
            .collect()
    }

    /// The other entries (storage key and text), the earlier versions' `<key>` included.
    pub fn others(&self) -> Result<Vec<(String, String)>, AnnalsError> {
        let mut keys = vec![self.confirmed_key()];
        keys.extend(self.writers().iter().map(|w| self.key_of(w)));
        keys.push(self.key.clone());
        let mut entries = Vec::new();
        for key in keys {
            if let Some(text) = read(&key)? {
                entries.push((key, text));
            }
        }
        Ok(entries)
    }

    /// The text of the entry under `key`, if there is one.
    pub fn read(&self, key: &str) -> Result<Option<String>, AnnalsError> {
        read(key)
    }

    /// Whether the entry under `key` is the text last taken in.
    pub fn is_seen(&self, key: &str, text: &str) -> bool {
        self.seen
            .iter()
            .find(|(seen, _)| seen == key)
            .is_some_and(|(_, rev)| text.get(..rev.len() + 9) == Some(&rev_prefix(rev)))
    }

    /// Notes that the entry under `key`, written with `rev`, was taken in.
    pub fn see(&mut self, key: &str, rev: &str) {
        self.seen.retain(|(seen, _)| seen != key);
        self.seen.push((key.to_owned(), rev.to_owned()));
    }

    /// Writes this replica's own entry.
    pub fn write(&self, text: &str) -> Result<(), WriteError> {
        write(&self.own_key(), text)
    }

    /// Writes the confirmed state.
    pub fn write_confirmed(&self, text: &str) -> Result<(), WriteError> {
        write(&self.confirmed_key(), text)
    }

    /// This replica's own entry, if it wrote one.
    pub fn read_own(&self) -> Result<Option<String>, AnnalsError> {
        read(&self.own_key())
    }

    /// Removes another entry, once what it held is in this replica's own.
    pub fn remove(&mut self, key: &str) {
        let _ = LocalStorage::raw().remove_item(key);
        self.seen.retain(|(seen, _)| seen != key);
    }

    /// Moves an unreadable entry from `key` to `<key>/quarantine/<at>`. Returns the quarantine
    /// key. When even that does not fit, the entry stays where it is.
    pub fn quarantine(&mut self, key: &str, text: &str, at: i64) -> Result<String, AnnalsError> {
        let storage = LocalStorage::raw();
        let mut target = format!("{}/quarantine/{at}", self.key);
        let mut n = 1;
        while matches!(storage.get_item(&target), Ok(Some(_))) {
            target = format!("{}/quarantine/{at}-{n}", self.key);
            n += 1;
        }
        let moved = match write(&target, text) {
            Ok(()) => Ok(()),
            Err(WriteError::Full) => {
                // Make room by taking the entry out first; put it back if it still fails.
                let _ = storage.remove_item(key);
                write(&target, text).map_err(|_| {
                    let _ = write(key, text);
                })
            }
            Err(WriteError::Failed(_)) => Err(()),
        };
        match moved {
            Ok(()) => {
                self.remove(key);
                Ok(target)
            }
            Err(()) => Err(AnnalsError::new(
                "storage_full",
                format!(
                    "The entry under \"{key}\" cannot be read, and there is no room to move it \
                     aside to \"{target}\"; free some storage and open it again."
                ),
            )),
        }
    }
}

/// How an entry written with `rev` starts.
fn rev_prefix(rev: &str) -> String {
    format!("{{\"rev\":\"{rev}\"")
}

/// Every key in localStorage.
fn stored_keys() -> Vec<String> {
    let storage = LocalStorage::raw();
    let length = storage.length().unwrap_or(0);
    (0..length).filter_map(|i| storage.key(i).ok().flatten()).collect()
}

fn read(key: &str) -> Result<Option<String>, AnnalsError> {
    LocalStorage::raw().get_item(key).map_err(|error| failed("read", &error))
}

fn write(key: &str, text: &str) -> Result<(), WriteError> {
    LocalStorage::raw().set_item(key, text).map_err(|error| {
        if is_quota_error(&error) {
            WriteError::Full
        } else {
            WriteError::Failed(failed("write", &error))
        }
    })
}

/// Whether a `setItem` failure is the quota's (`QuotaExceededError`, legacy code 22).
fn is_quota_error(error: &JsValue) -> bool {
    let name = Reflect::get(error, &JsValue::from_str("name")).ok().and_then(|n| n.as_string());
    let code = Reflect::get(error, &JsValue::from_str("code")).ok().and_then(|c| c.as_f64());
    matches!(name.as_deref(), Some("QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED"))
        || code == Some(22.0)
}

fn failed(what: &str, error: &JsValue) -> AnnalsError {
    let detail = Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "an error without a message".to_owned());
    AnnalsError::new("storage_unavailable", format!("localStorage could not {what}: {detail}"))
}

/// Fails unless this realm has a usable `localStorage` (Node 20 has none; a sandboxed frame
/// may refuse it), so gloo-storage is only asked when it can answer.
fn local_storage_available() -> Result<(), AnnalsError> {
    let storage = Reflect::get(&js_sys::global(), &JsValue::from_str("localStorage"));
    match storage {
        Ok(value) if !value.is_undefined() && !value.is_null() => Ok(()),
        Ok(_) => Err(AnnalsError::new(
            "storage_unavailable",
            "There is no localStorage here (Node has none); use storage \"memory\".",
        )),
        Err(error) => Err(failed("be opened", &error)),
    }
}
