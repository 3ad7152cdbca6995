//! A replica in localStorage survives a reopen: pending and rejected commands, views,
//! confirmed state and undo.

#![cfg(target_arch = "wasm32")]

mod common;

use annals_wasm::Replica;
use common::*;
use gloo_storage::{LocalStorage, Storage};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn pending_commands_and_views_survive_a_reopen() {
    let key = fresh_key("reopen");
    let rice = item(1);
    let ids: Vec<String> = {
        let mut replica = open(&key);
        let a = parse(&replica.execute(&add_item(&rice, "Rice")).expect("add"));
        let b = parse(&replica.execute(&receive(&rice, "crossroads", 10)).expect("receive"));
        let c = parse(&replica.execute(&consume(&rice, "crossroads", 3)).expect("consume"));
        assert_eq!(a["status"], "pending");
        assert_eq!(c["events"][0]["type"], "StockConsumed");
        [a, b, c].iter().map(|o| o["id"].as_str().unwrap_or_default().to_owned()).collect()
    };
    let replica = open(&key);
    assert_eq!(pending_ids(&replica), ids, "the same commands, in order, once each");
    assert_eq!(total(&replica, &rice), 7);
    let stream = parse(&replica.stream(&format!("item-{rice}")));
    assert_eq!(stream["version"], 3);
    assert_eq!(stream["state"]["stock"]["crossroads"], 7);
    let before = parse(&replica.state_at(&format!("item-{rice}"), 2.0).expect("state at 2"));
    assert_eq!(before["state"]["stock"]["crossroads"], 10);
    assert_eq!(replica.status(&ids[2]).expect("status").as_deref(), Some("pending"));
    assert_eq!(parse(&replica.open_warnings()), json!([]));
}

#[wasm_bindgen_test]
fn confirmed_state_and_rejections_survive_a_reopen() {
    let key = fresh_key("confirmed");
    let rice = item(2);
    {
        let mut replica = open(&key);
        let added = parse(&replica.execute(&add_item(&rice, "Rice")).expect("add"));
        let consumed = parse(&replica.execute(&receive(&rice, "north", 4)).expect("receive"));
        // The server records the first command and refuses the second.
        let mut event = added["events"][0].clone();
        event["position"] = json!(1);
        replica.receive(&json!({"events": [event], "head": 1}).to_string()).expect("receive");
        let refused = json!({"results": [{"id": consumed["id"], "status": "rejected",
            "code": "item_retired", "message": "Rice was retired."}], "head": 1});
        let report = parse(&replica.acknowledge(&refused.to_string()).expect("acknowledge"));
        assert_eq!(report["rejected"][0], consumed["id"]);
    }
    let mut replica = open(&key);
    assert_eq!(replica.position(), 1.0);
    assert_eq!(pending_ids(&replica), Vec::<String>::new());
    let rejected = parse(&replica.rejected());
    assert_eq!(rejected[0]["code"], "item_retired");
    assert_eq!(rejected[0]["command"]["type"], "ReceiveStock");
    assert_eq!(total(&replica, &rice), 0);
    let id = rejected[0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(replica.dismiss(&id).expect("dismiss"));
    let replica = open(&key);
    assert_eq!(parse(&replica.rejected()), json!([]));
}

#[wasm_bindgen_test]
fn a_rejected_command_is_thrown_with_its_code_and_not_stored() {
    let key = fresh_key("rejection");
    let rice = item(3);
    let mut replica = open(&key);
    replica.execute(&add_item(&rice, "Rice")).expect("add");
    let error = replica.execute(&consume(&rice, "north", 1)).expect_err("nothing to consume");
    assert_eq!(code(&error), "insufficient_stock");
    assert!(message(&error).contains("Only 0"), "{}", message(&error));
    assert!(error.is_instance_of::<js_sys::Error>(), "a real Error object");
    let replica = open(&key);
    assert_eq!(pending_ids(&replica).len(), 1);
}

/// A page reloaded is a new replica; once it retires the entry of the page it replaces (the
/// package does when that page's lock is gone), it can undo what that page did.
fn reopen(key: &str, gone: &Replica) -> Replica {
    let mut replica = open(key);
    replica.retire(&gone.writer().expect("writer")).expect("retire");
    replica
}

#[wasm_bindgen_test]
fn undo_and_redo_survive_a_reload() {
    let key = fresh_key("undo");
    let rice = item(4);
    let mut first = open(&key);
    first.execute(&add_item(&rice, "Rice")).expect("add");
    first.execute(&receive(&rice, "north", 5)).expect("receive");
    let mut replica = reopen(&key, &first);
    replica.undo().expect("undo the receipt");
    assert_eq!(total(&replica, &rice), 0);
    let mut replica = reopen(&key, &replica);
    replica.redo().expect("redo it");
    assert_eq!(total(&replica, &rice), 5);
    assert_eq!(pending_ids(&open(&key)).len(), 4, "undo and redo are new commands");
}

#[wasm_bindgen_test]
fn undo_in_one_tab_never_undoes_another_tabs_command() {
    let key = fresh_key("undo-tabs");
    let rice = item(7);
    let mut a = open(&key);
    let mut b = open(&key);
    a.execute(&add_item(&rice, "Rice")).expect("add");
    a.execute(&receive(&rice, "north", 1)).expect("a receives 1");
    b.execute(&receive(&rice, "north", 2)).expect("b receives 2");
    a.refresh().expect("a takes in b's command");
    let undone = parse(&a.undo().expect("a undoes its own"));
    assert_eq!(undone["events"][0]["type"], "StockConsumed");
    assert_eq!(undone["events"][0]["data"]["qty"], 1, "a's receipt of 1, not b's of 2");
    assert_eq!(total(&a, &rice), 2);
    let undone = parse(&b.undo().expect("b undoes its own receipt"));
    assert_eq!(undone["events"][0]["data"]["qty"], 2);
}

#[wasm_bindgen_test]
fn another_domain_under_the_key_is_moved_aside_not_a_lock_out() {
    let key = fresh_key("domains");
    let mut replica = open(&key);
    replica.execute(&add_item(&item(5), "Rice")).expect("add");
    let stored = entry_key(&key, &replica);
    let text = LocalStorage::raw().get_item(&stored).ok().flatten().expect("stored");
    drop(replica);
    let bank =
        annals_wasm::Replica::open::<annals_bank::Bank>("local", Some(key.clone()), None, None)
            .expect("opens");
    let warnings = parse(&bank.open_warnings());
    assert_eq!(warnings[0]["code"], "corrupt_entry", "{warnings}");
    assert!(
        warnings[0]["message"].as_str().unwrap_or_default().contains("holds a inventory replica")
    );
    let moved = warnings[0]["key"].as_str().expect("where it went");
    assert_eq!(LocalStorage::raw().get_item(moved).ok().flatten(), Some(text), "kept as it was");
    assert_eq!(LocalStorage::raw().get_item(&stored).ok().flatten(), None);
}

/// The stored confirmed state of one item, with `spoil` applied to its views' part.
fn stored_with_spoiled_views(name: &str, spoil: impl Fn(&str) -> String) -> String {
    let key = fresh_key(name);
    let mut replica = open(&key);
    let added = parse(&replica.execute(&add_item(&item(8), "Rice")).expect("add"));
    let mut event = added["events"][0].clone();
    event["position"] = json!(1);
    replica.receive(&json!({"events": [event], "head": 1}).to_string()).expect("receive");
    drop(replica);
    let confirmed = format!("{key}/confirmed");
    let text = LocalStorage::raw().get_item(&confirmed).ok().flatten().expect("stored");
    let at = text.find("\"views\"").expect("views");
    let spoiled = format!("{}{}", &text[..at], spoil(&text[at..]));
    assert_ne!(spoiled, text);
    LocalStorage::raw().set_item(&confirmed, &spoiled).expect("spoil");
    key
}

#[wasm_bindgen_test]
fn a_stored_state_that_cannot_be_read_is_reported_as_such() {
    // A lone surrogate: not JSON annals reads. The entry is moved aside, saying why.
    let key = stored_with_spoiled_views("surrogate", |v| v.replacen("\"Rice\"", "\"\\ud800\"", 1));
    let warnings = parse(&open(&key).open_warnings());
    let message = warnings[0]["message"].as_str().unwrap_or_default().to_owned();
    assert_eq!(warnings[0]["code"], "corrupt_entry", "{warnings}");
    assert!(message.contains("surrogate"), "{message}");
    assert!(!message.contains("another version"), "{message}");

    // A row of the wrong shape: the confirmed state is pulled again, and the warning says why.
    let key = stored_with_spoiled_views("wrong-row", |v| {
        v.replacen("\"total\":0", "\"total\":\"none\"", 1)
    });
    let reopened = open(&key);
    let warnings = parse(&reopened.open_warnings());
    let message = warnings[0]["message"].as_str().unwrap_or_default();
    assert_eq!(warnings[0]["code"], "state_rebuilt", "{warnings}");
    assert!(message.contains("could not be read (row"), "{message}");
    assert!(!message.contains("another version"), "{message}");
    assert_eq!(reopened.position(), 0.0, "pulled again from the server");
}
