//! The OpenAPI document: the server serves what `annals-server openapi` writes, and it
//! describes the hosted domain from its Rust types: each command with its fields, each view,
//! the rejection codes.

mod common;

use common::*;
use serde_json::Value;

/// The document the binary writes for `domain`.
fn written(domain: &str) -> Value {
    let dir = TempDir::new("annals-test-openapi");
    let file = dir.path().join("openapi.json");
    let path = file.to_str().expect("a UTF-8 path");
    let output = run_binary(&["openapi", "--domain", domain, "--output", path], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&file).expect("the written document");
    serde_json::from_str(&text).expect("the document is JSON")
}

/// The command types of the domain's command union, from the document.
fn command_types(document: &Value) -> Vec<String> {
    let schemas = document["components"]["schemas"].as_object().expect("schemas");
    let push = &schemas["PushCommand"]["allOf"][0]["$ref"];
    let union = push.as_str().and_then(|r| r.rsplit('/').next()).expect("a $ref to the union");
    let members = schemas[union]["anyOf"].as_array().expect("a union of commands");
    members
        .iter()
        .map(|m| m["properties"]["type"]["const"].as_str().expect("a command type").to_owned())
        .collect()
}

#[test]
fn each_domain_is_described_from_its_types() {
    let inventory = written("inventory");
    assert_eq!(inventory["openapi"], "3.1.0");
    assert_eq!(
        command_types(&inventory),
        [
            "AddItem",
            "RenameItem",
            "ReceiveStock",
            "ConsumeStock",
            "CountStock",
            "RetireItem",
            "RequestReorder"
        ]
    );
    let add_item = &inventory["components"]["schemas"]["AddItem"];
    assert_eq!(add_item["required"], serde_json::json!(["item", "name"]), "{add_item}");
    assert_eq!(add_item["properties"]["item"]["format"], "uuid");
    assert_eq!(add_item["properties"]["reorder_level"]["minimum"], i64::MIN);
    for view in ["stock", "low_stock", "activity", "history", "reorders"] {
        assert!(inventory["paths"][format!("/v1/views/{view}")].is_object(), "{view}");
    }
    let codes = inventory["components"]["schemas"]["CommandResult"].to_string();
    assert!(codes.contains("\"insufficient_stock\""), "the rejection codes: {codes}");

    let bank = written("bank");
    assert!(command_types(&bank).contains(&"Transfer".to_owned()), "{:?}", command_types(&bank));
    assert!(bank["paths"]["/v1/views/stock"].is_null(), "the bank has no stock view");
    let appended =
        bank["paths"]["/v1/streams/{stream}/events"]["post"]["parameters"][0].to_string();
    assert!(appended.contains("^account-"), "raw appends name the bank's category: {appended}");
}

async fn served_as_written(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let served = app.api.get("/v1/openapi.json").await.ok();
    assert_eq!(served, written("inventory"));
}

on_both_backends!(served_as_written => served_as_written_sqlite, served_as_written_postgres);
