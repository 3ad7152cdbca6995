//! Where a replica is kept: localStorage (through gloo-storage) under one key, or nowhere
//! ("memory", for Node and tests).
//!
//! The entry under the key is `{rev, format, domain, saved}`: `rev` changes on every write, and
//! comes first so a replica can tell from the text's start whether another tab (or another
//! replica in the same page) wrote since it last looked. An entry that cannot be read is moved
//! aside to `<key>/quarantine/<timestamp>`, never deleted.

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

/// A localStorage key and what this replica last read or wrote there.
pub struct Local {
    /// The key.
    pub key: String,
    /// The `rev` of the entry this replica holds, if it read or wrote one.
    pub rev: Option<String>,
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
}

annals_core::json_struct!(Entry { rev, format = 0, domain, saved });

impl Entry {
    /// Reads an entry's text.
    pub fn parse(text: &str) -> Result<Entry, AnnalsError> {
        json::from_str(text).map_err(|e| {
            AnnalsError::new("corrupt_entry", format!("The stored entry is not valid: {e}."))
        })
    }
}

impl Store {
    /// The store named `storage` (`local` or `memory`) for `key`.
    pub fn open(storage: &str, key: &str) -> Result<Store, AnnalsError> {
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
                Ok(Store::Local(Local { key: key.to_owned(), rev: None }))
            }
            other => Err(AnnalsError::new(
                "invalid_option",
                format!("There is no storage \"{other}\"; use \"local\" or \"memory\"."),
            )),
        }
    }
}

impl Local {
    /// The entry's text, if there is one.
    pub fn read(&self) -> Result<Option<String>, AnnalsError> {
        LocalStorage::raw().get_item(&self.key).map_err(|error| failed("read", &error))
    }

    /// Whether `text` is the entry this replica last read or wrote.
    pub fn is_current(&self, text: Option<&str>) -> bool {
        match (&self.rev, text) {
            (None, None) => true,
            (Some(rev), Some(text)) => {
                text.get(..rev.len() + 9) == Some(&format!("{{\"rev\":\"{rev}\""))
            }
            _ => false,
        }
    }

    /// Writes the entry.
    pub fn write(&self, text: &str) -> Result<(), WriteError> {
        write(&self.key, text)
    }

    /// Moves an unreadable entry to `<key>/quarantine/<at>` and removes it from the key.
    /// Returns the quarantine key. When even that does not fit, the entry stays where it is.
    pub fn quarantine(&self, text: &str, at: i64) -> Result<String, AnnalsError> {
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
                let _ = storage.remove_item(&self.key);
                write(&target, text).map_err(|_| {
                    let _ = write(&self.key, text);
                })
            }
            Err(WriteError::Failed(_)) => Err(()),
        };
        match moved {
            Ok(()) => {
                let _ = storage.remove_item(&self.key);
                Ok(target)
            }
            Err(()) => Err(AnnalsError::new(
                "storage_full",
                format!(
                    "The entry under \"{}\" cannot be read, and there is no room to move it aside \
                     to \"{target}\"; free some storage and open it again.",
                    self.key
                ),
            )),
        }
    }
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
