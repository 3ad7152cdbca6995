//! Two replicas on one storage key (two tabs of one app, or two in one page) never lose or
//! double a command: each writes only its own entry, takes in the others' before each change,
//! and merges pending commands by id; a gone writer's entry is retired only once its commands
//! are stored in another's.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn interleaved_commands_all_land_once() {
    let key = fresh_key("interleaved");
    let rice = item(1);
    let mut a = open(&key);
    let mut b = open(&key);
    a.execute(&add_item(&rice, "Rice")).expect("a adds");
    b.execute(&receive(&rice, "north", 5)).expect("b sees the item a added, and receives");
    a.execute(&consume(&rice, "north", 2)).expect("a sees the stock b received");
    b.execute(&consume(&rice, "north", 3)).expect("b sees what a used");
    let error = a.execute(&consume(&rice, "north", 1)).expect_err("none left");
    assert_eq!(code(&error), "insufficient_stock");

    let c = open(&key);
    let ids = pending_ids(&c);
    assert_eq!(ids.len(), 4);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "no command twice");
    assert_eq!(total(&c, &rice), 0);
    // a took in b's last write before refusing its own command.
    assert_eq!(pending_ids(&a), ids);
    assert!(!a.refresh().expect("refresh"), "nothing new for a");
    assert!(!b.refresh().expect("refresh"), "nor for b, which wrote last");
}

#[wasm_bindgen_test]
fn no_entry_is_written_by_two_replicas() {
    let key = fresh_key("owners");
    let rice = item(2);
    let mut a = open(&key);
    a.execute(&add_item(&rice, "Rice")).expect("add");
    let mut b = open(&key);
    let stale = LocalStorage::raw().get_item(&entry_key(&key, &a)).ok().flatten();
    let outcome = parse(&b.execute(&receive(&rice, "north", 5)).expect("b receives"));
    // a writes again from what it held: b's command is in b's entry, which a never writes.
    a.execute(&consume(&rice, "north", 1)).expect("a sees b's stock, and uses one");
    assert_ne!(entry_key(&key, &a), entry_key(&key, &b));
    assert_ne!(LocalStorage::raw().get_item(&entry_key(&key, &a)).ok().flatten(), stale);
    let c = open(&key);
    assert_eq!(pending_ids(&c).len(), 3);
    assert!(pending_ids(&c).contains(&outcome["id"].as_str().unwrap_or_default().to_owned()));
    assert_eq!(total(&c, &rice), 4);
}

#[wasm_bindgen_test]
fn a_gone_writer_is_retired_only_once_its_commands_are_stored_elsewhere() {
    let key = fresh_key("retire");
    let rice = item(6);
    let mut a = open(&key);
    a.execute(&add_item(&rice, "Rice")).expect("add");
    a.execute(&receive(&rice, "north", 2)).expect("receive");
    let gone = a.writer().expect("writer");
    drop(a);
    let mut b = open(&key);
    assert_eq!(parse(&b.writers()), serde_json::json!([gone]));
    assert!(!b.retire(&gone).expect("retire"), "b had taken a's commands in when it opened");
    assert_eq!(parse(&b.writers()), serde_json::json!([]), "a's entry is gone");
    let c = open(&key);
    assert_eq!(pending_ids(&c).len(), 2, "a's commands are in b's entry");
    assert_eq!(total(&c, &rice), 2);
    assert!(!b.retire(&b.writer().expect("writer")).expect("its own"), "never its own entry");
}

#[wasm_bindgen_test]
fn a_command_run_twice_under_one_id_lands_once() {
    let key = fresh_key("twice");
    let rice = item(3);
    let mut a = open(&key);
    let mut b = open(&key);
    let command =
        serde_json::json!({"id": "00000000-0000-4000-8000-00000000aaaa", "type": "AddItem",
        "data": {"item": rice, "name": "Rice"}})
        .to_string();
    a.execute(&command).expect("a");
    b.execute(&command).expect("b runs the same command id: a replay");
    assert_eq!(pending_ids(&open(&key)).len(), 1);
}
