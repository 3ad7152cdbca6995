//! What a caller attaches to a command (correlation, causation, fields of its own) is kept in
//! the meta of its optimistic events, survives a reload, and goes out with the push.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn attached_meta_is_kept_with_the_events_and_pushed() {
    let key = fresh_key("meta");
    let mut replica = open(&key);
    let correlation = "00000000-0000-4000-8000-00000000c0de";
    let mut command: serde_json::Value = parse(&add_item(&item(7), "Tea"));
    command["meta"] =
        json!({"correlation": correlation, "fields": {"screen": "kitchen", "tries": 2}});
    let outcome = parse(&replica.execute(&command.to_string()).expect("added"));
    let meta = &outcome["events"][0]["meta"];
    assert_eq!(meta["correlation"], correlation, "{outcome}");
    assert_eq!(meta["fields"], json!({"screen": "kitchen", "tries": 2}));
    assert_eq!(meta["actor"], "local");

    let reopened = open(&key);
    let pending = parse(&reopened.pending());
    assert_eq!(pending[0]["events"][0]["meta"]["fields"]["screen"], "kitchen", "{pending}");
    let push = parse(&reopened.outbox());
    assert_eq!(push["commands"][0]["meta"]["correlation"], correlation, "{push}");
}
