//! Two replicas on one storage key (two tabs of one app, or two in one page) never lose or
//! double a command: each re-reads the entry before writing and merges pending commands by id.

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
fn a_command_overwritten_by_a_stale_tab_is_written_back() {
    let key = fresh_key("race");
    let rice = item(2);
    let mut a = open(&key);
    a.execute(&add_item(&rice, "Rice")).expect("add");
    let stale = LocalStorage::raw().get_item(&key).ok().flatten().expect("stored");
    let mut b = open(&key);
    let outcome = parse(&b.execute(&receive(&rice, "north", 5)).expect("b receives"));
    // Another tab that read before b wrote now writes its older copy over b's.
    LocalStorage::raw().set_item(&key, &stale).expect("overwrite");
    // b hears of the write (the `storage` event) and puts its command back.
    b.refresh().expect("refresh");
    let c = open(&key);
    assert_eq!(pending_ids(&c).len(), 2);
    assert_eq!(pending_ids(&c)[1], outcome["id"].as_str().unwrap_or_default());
    assert_eq!(total(&c, &rice), 5);
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
