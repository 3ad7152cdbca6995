//! Helpers shared by the browser suites: commands as JSON text, errors' codes, a clean key.

#![allow(dead_code)]

use annals_inventory::Inventory;
use annals_wasm::Replica;
use gloo_storage::{LocalStorage, Storage};
use js_sys::Reflect;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;

/// A fresh localStorage key for one test: nothing under it or its quarantine.
pub fn fresh_key(name: &str) -> String {
    let key = format!("annals-test/{name}");
    let storage = LocalStorage::raw();
    let length = storage.length().unwrap_or(0);
    let doomed: Vec<String> = (0..length)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k == &key || k.starts_with(&format!("{key}/")))
        .collect();
    for k in doomed {
        let _ = storage.remove_item(&k);
    }
    key
}

pub fn open(key: &str) -> Replica {
    Replica::open::<Inventory>("local", Some(key.to_owned()), None, None)
        .unwrap_or_else(|e| panic!("open: {}", code(&e)))
}

pub fn item(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
}

pub fn add_item(id: &str, name: &str) -> String {
    json!({"type": "AddItem", "data": {"item": id, "name": name, "unit": "kg", "reorder_level": 2}})
        .to_string()
}

pub fn receive(id: &str, site: &str, qty: i64) -> String {
    json!({"type": "ReceiveStock", "data": {"item": id, "site": site, "qty": qty}}).to_string()
}

pub fn consume(id: &str, site: &str, qty: i64) -> String {
    json!({"type": "ConsumeStock", "data": {"item": id, "site": site, "qty": qty}}).to_string()
}

pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the replica returns JSON")
}

/// The `code` of an error thrown by the replica.
pub fn code(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("code"))
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

pub fn message(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

/// Total units of an item in the `stock` view.
pub fn total(replica: &Replica, item: &str) -> i64 {
    let row = parse(&replica.view("stock", Some(item.to_owned())).expect("view"));
    row["total"].as_i64().unwrap_or(-1)
}

pub fn pending_ids(replica: &Replica) -> Vec<String> {
    let pending = parse(&replica.pending());
    pending
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A small seeded generator for the property tests that run in the browser (proptest's
/// runner does not run there): the same seed gives the same cases, so a failure repeats.
pub struct Cases(u64);

impl Cases {
    pub fn new(seed: u64) -> Self {
        Cases(seed | 1)
    }

    /// xorshift64*.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A character, often one of JSON's punctuation or escapes, or a multi-byte one.
    pub fn char(&mut self) -> char {
        const PICKS: &[char] = &[
            '\\',
            '"',
            '{',
            '}',
            '[',
            ']',
            ':',
            ',',
            '0',
            '9',
            '-',
            'e',
            'u',
            'n',
            ' ',
            '\n',
            '\u{0}',
            '\u{a0}',
            'é',
            '✓',
            '🌀',
            '\u{10ffff}',
        ];
        if self.below(3) == 0 {
            char::from_u32(self.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}')
        } else {
            PICKS[self.below(PICKS.len())]
        }
    }

    /// Up to `len` characters from [`Cases::char`].
    pub fn text(&mut self, len: usize) -> String {
        let len = self.below(len + 1);
        (0..len).map(|_| self.char()).collect()
    }

    /// `text` with a few random edits: characters inserted, replaced or removed.
    pub fn mutate(&mut self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(3) {
                0 => chars.insert(at, self.char()),
                1 if at < chars.len() => chars[at] = self.char(),
                _ if at < chars.len() => {
                    let end = (at + 1 + self.below(8)).min(chars.len());
                    chars.drain(at..end);
                }
                _ => chars.push(self.char()),
            }
        }
        chars.into_iter().collect()
    }
}

/// The storage key of a replica's own entry.
pub fn entry_key(key: &str, replica: &Replica) -> String {
    format!("{key}/tab/{}", replica.writer().expect("a local replica has a writer"))
}
