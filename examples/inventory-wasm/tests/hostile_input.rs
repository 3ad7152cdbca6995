//! Whatever text reaches the module, from localStorage or from a server, it answers with a
//! value or an error: the reader never traps, and a replica opens over any stored entry.

#![cfg(target_arch = "wasm32")]

mod common;

use annals_core::json::{self, RawJson};
use annals_core::protocol::{PullResponse, PushResponse};
use annals_inventory::Inventory;
use common::*;
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn read_everything(text: &str) {
    let _ = RawJson::new(text);
    let _ = json::from_str::<String>(text);
    let _ = json::from_str::<Vec<RawJson>>(text);
    let _ = json::from_str::<PushResponse>(text);
    let _ = json::from_str::<PullResponse>(text);
}

#[wasm_bindgen_test]
fn the_reader_in_the_module_answers_any_text() {
    // JSONTestSuite's file that used to trap the module, and its kin.
    let escaped_emoji =
        include_str!("../../../core/tests/jsontestsuite/test_parsing/n_string_escaped_emoji.json");
    for text in [escaped_emoji, "\"\\\u{a0}\"", "\"\\u+041\""] {
        assert!(RawJson::new(text).is_err(), "{text}");
    }
    let mut cases = Cases::new(0x5eed_0001);
    for _ in 0..3_000 {
        read_everything(&cases.text(40));
    }
}

/// Opens a replica over `entry` planted under `key`: it must open, and an entry it cannot read
/// (another domain's included) must be kept aside as it was.
fn opens_over(key: &str, entry: &str) {
    let key = fresh_key(key);
    LocalStorage::raw().set_item(&key, entry).expect("plant the entry");
    let replica =
        match annals_wasm::Replica::open::<Inventory>("local", Some(key.clone()), None, None) {
            Ok(replica) => replica,
            Err(error) => panic!("open failed with {:?} over {entry:?}", code(&error)),
        };
    let warnings = parse(&replica.open_warnings());
    let corrupt = warnings.as_array().and_then(|w| w.iter().find(|w| w["code"] == "corrupt_entry"));
    if let Some(warning) = corrupt {
        let moved = warning["key"].as_str().expect("where it went").to_owned();
        let kept = LocalStorage::raw().get_item(&moved).ok().flatten();
        assert_eq!(kept.as_deref(), Some(entry), "the unreadable entry is kept as it was");
    }
}

#[wasm_bindgen_test]
fn a_replica_opens_over_any_stored_entry() {
    // A real entry, with names beyond ASCII, to cut and spoil.
    let key = fresh_key("hostile-source");
    let mut replica = open(&key);
    replica.execute(&add_item(&item(1), "Crème fraîche 🥛")).expect("add");
    replica.execute(&receive(&item(1), "north", 3)).expect("receive");
    replica.execute(&add_item(&item(2), "\"quoted\" \\ name")).expect("add");
    let entry = LocalStorage::raw().get_item(&entry_key(&key, &replica)).ok().flatten();
    let entry = entry.expect("stored");

    // Every truncation.
    let cuts: Vec<usize> = (0..entry.len()).filter(|&end| entry.is_char_boundary(end)).collect();
    for (n, end) in cuts.into_iter().enumerate() {
        opens_over(&format!("hostile-cut-{}", n % 4), &entry[..end]);
    }
    // Random edits of the real entry, and random text.
    let mut cases = Cases::new(0x5eed_0002);
    for n in 0..400 {
        let spoiled = cases.mutate(&entry);
        opens_over(&format!("hostile-edit-{}", n % 4), &spoiled);
    }
    for n in 0..200 {
        let text = cases.text(60);
        opens_over(&format!("hostile-text-{}", n % 4), &text);
    }
}
