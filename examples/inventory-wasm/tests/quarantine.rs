//! An unreadable entry is moved aside under `<key>/quarantine/<timestamp>`, never deleted; the
//! replica still opens and says what happened.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn quarantined(key: &str) -> Vec<(String, String)> {
    let storage = LocalStorage::raw();
    let prefix = format!("{key}/quarantine/");
    (0..storage.length().unwrap_or(0))
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k.starts_with(&prefix))
        .map(|k| {
            let value = storage.get_item(&k).ok().flatten().unwrap_or_default();
            (k, value)
        })
        .collect()
}

fn check(name: &str, corrupt: &str) {
    let key = fresh_key(name);
    LocalStorage::raw().set_item(&key, corrupt).expect("plant the entry");
    let mut replica = open(&key);
    let warnings = parse(&replica.open_warnings());
    assert_eq!(warnings[0]["code"], "corrupt_entry", "{warnings}");
    let moved = quarantined(&key);
    assert_eq!(moved.len(), 1, "moved aside once");
    assert_eq!(moved[0].1, corrupt, "kept as it was");
    assert_eq!(warnings[0]["key"], moved[0].0.as_str());
    assert!(warnings[0]["message"].as_str().unwrap_or_default().contains(&moved[0].0));
    // The replica works, and its writes do not touch the quarantined entry.
    replica.execute(&add_item(&item(1), "Rice")).expect("add");
    assert_eq!(pending_ids(&open(&key)).len(), 1);
    assert_eq!(quarantined(&key).len(), 1);
}

#[wasm_bindgen_test]
fn text_that_is_not_json_is_quarantined() {
    check("not-json", "{\"rev\":\"x\", this is not JSON");
}

#[wasm_bindgen_test]
fn an_entry_of_another_layout_is_quarantined() {
    check("layout", r#"{"rev":"x","format":99,"domain":"inventory","saved":{}}"#);
}

#[wasm_bindgen_test]
fn a_saved_replica_that_does_not_decode_is_quarantined() {
    let saved = r#"{"state_version":1,"position":"three","streams":{},"views":[],"pending":[],"rejected":[]}"#;
    check("saved", &format!(r#"{{"rev":"x","format":1,"domain":"inventory","saved":{saved}}}"#));
}

#[wasm_bindgen_test]
fn an_unknown_command_in_a_saved_queue_is_quarantined() {
    let pending = r#"[{"command":{"type":"Explode","data":{}},"meta":{"command":"00000000-0000-4000-8000-000000000001","actor":"x","at":0}}]"#;
    let saved = format!(
        r#"{{"state_version":1,"position":0,"streams":{{}},"views":[],"pending":{pending},"rejected":[]}}"#
    );
    check("command", &format!(r#"{{"rev":"x","format":1,"domain":"inventory","saved":{saved}}}"#));
}

#[wasm_bindgen_test]
fn another_tab_entry_spoiled_while_open_is_quarantined_on_the_next_write() {
    let key = fresh_key("spoiled");
    let mut replica = open(&key);
    replica.execute(&add_item(&item(2), "Rice")).expect("add");
    let other = format!("{key}/tab/another");
    LocalStorage::raw().set_item(&other, "garbage").expect("spoil it");
    replica.execute(&receive(&item(2), "north", 3)).expect("still works");
    assert_eq!(quarantined(&key).len(), 1);
    let reopened = open(&key);
    assert_eq!(pending_ids(&reopened).len(), 2, "nothing held in memory was lost");
    assert_eq!(total(&reopened, &item(2)), 3);
}
