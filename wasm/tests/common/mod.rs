//! Helpers shared by the browser suites: commands as JSON text, errors' codes, a clean key.

#![allow(dead_code)]

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
    Replica::open("inventory", "local", key, None).unwrap_or_else(|e| panic!("open: {}", code(&e)))
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
