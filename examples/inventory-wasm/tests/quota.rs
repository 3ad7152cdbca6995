//! Near the quota the replica compacts (history first, then older rejected commands); when
//! even that does not fit, `execute` fails with `storage_full` and nothing changes — a command
//! is never silently dropped.

#![cfg(target_arch = "wasm32")]

mod common;

use annals_inventory::Inventory;
use common::*;
use gloo_storage::{LocalStorage, Storage};
use serde_json::{Value, json};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Fills localStorage until not one more character fits; the filler goes when dropped.
struct Filler(Vec<String>);

impl Filler {
    fn fill(name: &str) -> Filler {
        let storage = LocalStorage::raw();
        let mut keys = Vec::new();
        let mut size = 1 << 20;
        while size > 0 {
            let key = format!("filler/{name}/{}", keys.len());
            if storage.set_item(&key, &"x".repeat(size)).is_ok() {
                keys.push(key);
            } else {
                size /= 2;
            }
        }
        assert!(!keys.is_empty(), "the quota was reached");
        Filler(keys)
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        for key in &self.0 {
            let _ = LocalStorage::raw().remove_item(key);
        }
    }
}

#[wasm_bindgen_test]
fn a_full_storage_refuses_the_command_and_loses_nothing() {
    let key = fresh_key("full");
    let rice = item(1);
    let mut replica = open(&key);
    replica.execute(&add_item(&rice, "Rice")).expect("add");
    replica.execute(&receive(&rice, "north", 100)).expect("receive");
    let filler = Filler::fill("full");

    let mut refused = None;
    for _ in 0..100 {
        let before = (pending_ids(&replica), total(&replica, &rice));
        match replica.execute(&consume(&rice, "north", 1)) {
            Ok(_) => continue,
            Err(error) => {
                refused = Some((error, before));
                break;
            }
        }
    }
    let (error, before) = refused.expect("the storage filled up");
    assert_eq!(code(&error), "storage_full");
    assert!(message(&error).contains("was not made"), "{}", message(&error));
    assert_eq!((pending_ids(&replica), total(&replica, &rice)), before, "nothing changed");
    let reopened = open(&key);
    assert_eq!(pending_ids(&reopened), before.0, "every command that was accepted is stored");

    drop(filler);
    replica.execute(&consume(&rice, "north", 1)).expect("room again");
    assert_eq!(pending_ids(&open(&key)).len(), before.0.len() + 1);
}

/// Events as the server would send them: commands decided by a memory replica, numbered.
fn server_events(commands: &[String]) -> Value {
    let mut server =
        annals_wasm::Replica::open::<Inventory>("memory", None, None, None).expect("memory");
    let mut events = Vec::new();
    for command in commands {
        let outcome = parse(&server.execute(command).expect("decided"));
        for mut event in outcome["events"].as_array().cloned().unwrap_or_default() {
            event["position"] = json!(events.len() + 1);
            events.push(event);
        }
    }
    Value::Array(events)
}

#[wasm_bindgen_test]
fn near_the_quota_the_history_goes_first() {
    let key = fresh_key("history");
    let rice = item(2);
    let mut commands = vec![add_item(&rice, "Rice")];
    commands.extend((0..150).map(|_| receive(&rice, "north", 1)));
    let mut replica = open(&key);
    replica.receive(&server_events(&commands).to_string()).expect("receive");
    let stream = format!("item-{rice}");
    assert!(replica.state_at(&stream, 1.0).is_ok(), "the history is held");
    let _filler = Filler::fill("history");

    replica.execute(&consume(&rice, "north", 1)).expect("stored after dropping the history");
    let error = replica.state_at(&stream, 1.0).expect_err("the history is gone");
    assert_eq!(code(&error), "history_unavailable");
    let reopened = open(&key);
    assert_eq!(pending_ids(&reopened).len(), 1);
    assert_eq!(total(&reopened, &rice), 149);
    assert_eq!(reopened.position(), 151.0);
}

#[wasm_bindgen_test]
fn then_the_older_rejected_commands_go() {
    let key = fresh_key("rejected");
    let rice = item(3);
    let mut replica = open(&key);
    let ids: Vec<String> = (0..6)
        .map(|n| {
            let outcome = parse(&replica.execute(&add_item(&item(10 + n), "Oats")).expect("add"));
            outcome["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let long = "The server refused this command for a long and detailed reason. ".repeat(60);
    let results: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "status": "rejected", "code": "item_exists", "message": long}))
        .collect();
    replica.acknowledge(&json!({"results": results, "head": 0}).to_string()).expect("ack");
    assert_eq!(parse(&replica.rejected()).as_array().map(Vec::len), Some(6));
    let _filler = Filler::fill("rejected");

    replica.execute(&add_item(&rice, "Rice")).expect("stored after dropping old rejections");
    let kept: Vec<String> = parse(&replica.rejected())
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(kept.len() < 6, "some were dropped");
    assert_eq!(kept, ids[6 - kept.len()..], "the newest are kept");
    // The user is told.
    let warnings = parse(&replica.open_warnings());
    let told = warnings.as_array().and_then(|w| w.iter().find(|w| w["code"] == "rejected_dropped"));
    let told = told.expect("a warning says refused commands were dropped");
    let count = 6 - kept.len();
    assert!(told["message"].as_str().unwrap_or_default().contains(&format!("the {count} oldest")));
    let reopened = open(&key);
    assert_eq!(pending_ids(&reopened).len(), 1);
    assert_eq!(parse(&reopened.rejected()).as_array().map(Vec::len), Some(kept.len()));
}

#[wasm_bindgen_test]
fn a_sync_that_does_not_fit_says_what_happened() {
    let key = fresh_key("sync-full");
    let rice = item(4);
    let mut replica = open(&key);
    replica.execute(&add_item(&rice, "Rice")).expect("add");
    let commands: Vec<String> = (0..40).map(|_| receive(&item(5), "north", 1)).collect();
    let mut all = vec![add_item(&item(5), "Oats")];
    all.extend(commands);
    let _filler = Filler::fill("sync-full");

    // What the server sends is applied even though it cannot be stored.
    replica.receive(&server_events(&all).to_string()).expect("applied");
    assert_eq!(total(&replica, &item(5)), 40);
    let warnings = parse(&replica.open_warnings());
    // `storage_full` when even the commands' entry could not be written, `confirmed_unsaved`
    // when only the confirmed state could not.
    let codes = ["storage_full", "confirmed_unsaved"];
    let full = warnings
        .as_array()
        .and_then(|w| w.iter().find(|w| codes.contains(&w["code"].as_str().unwrap_or_default())));
    let full = full.unwrap_or_else(|| panic!("a warning, among {warnings}"));
    let message = full.get("message").and_then(Value::as_str).unwrap_or_default();
    assert!(!message.contains("was not made"), "{message}");
    assert!(message.contains("fetched again"), "{message}");
}
