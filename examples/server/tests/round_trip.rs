//! A round trip through every read endpoint: push three commands, then read them back from
//! the log, the stream, its state now and at a version, and each read model; and the 404s.

mod common;

use annals_core::Uuid;
use common::*;
use serde_json::{Value, json};

on_both_backends!(round_trip => round_trip_sqlite, round_trip_postgres);
on_both_backends!(expected_versions => expected_versions_sqlite, expected_versions_postgres);

async fn round_trip(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    let commands = [
        add_item(item, "Milk", 5),
        receive(item, "crossroads", 10),
        consume(item, "crossroads", 7),
    ];

    let pushed = api.push(&commands).await.ok();
    assert_eq!(pushed["head"], 3);
    let results = pushed["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    let mut recorded = Vec::new();
    for (index, (result, command)) in results.iter().zip(&commands).enumerate() {
        assert_eq!(result["status"], "accepted", "{result}");
        assert_eq!(result["id"], command["id"]);
        let events = result["events"].as_array().expect("events");
        assert_eq!(events.len(), 1, "{result}");
        let event = &events[0];
        assert_eq!(event["position"], index as u64 + 1);
        assert_eq!(event["version"], index as u64 + 1);
        assert_eq!(event["stream"], stream.as_str());
        assert_eq!(event["meta"]["command"], command["id"]);
        assert_eq!(event["meta"]["actor"], "local");
        recorded.push(event.clone());
    }
    let types: Vec<&str> = recorded.iter().map(|e| e["type"].as_str().expect("type")).collect();
    assert_eq!(types, ["ItemAdded", "StockReceived", "StockConsumed"]);
    assert_eq!(recorded[0]["schema"], 2);
    assert_eq!(recorded[1]["data"], json!({ "site": "crossroads", "qty": 10 }));

    // The global log.
    let log = api.get("/v1/events").await.ok();
    assert_eq!(log["head"], 3);
    assert_eq!(log["events"], Value::from(recorded.clone()));
    let page = api.get("/v1/events?after=1&limit=1").await.ok();
    assert_eq!(page, json!({ "events": [recorded[1]], "head": 3 }));
    let end = api.get("/v1/events?after=3").await.ok();
    assert_eq!(end, json!({ "events": [], "head": 3 }));

    // The stream, whole and in part.
    let whole = api.get(&format!("/v1/streams/{stream}")).await.ok();
    assert_eq!(whole, json!({ "stream": stream, "version": 3, "events": recorded }));
    let part = api.get(&format!("/v1/streams/{stream}?from=2&limit=1")).await.ok();
    assert_eq!(part, json!({ "stream": stream, "version": 3, "events": [recorded[1]] }));

    // Its state now, and in the past.
    let now = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
    let milk = |stock: Value| {
        json!({ "name": "Milk", "unit": "kg", "reorder_level": 5, "stock": stock,
                "retired": false })
    };
    assert_eq!(
        now,
        json!({ "stream": stream, "version": 3, "state": milk(json!({ "crossroads": 3 })) })
    );
    let first = api.get(&format!("/v1/streams/{stream}/state?at=1")).await.ok();
    assert_eq!(first, json!({ "stream": stream, "version": 1, "state": milk(json!({})) }));
    let second = api.get(&format!("/v1/streams/{stream}/state?at=2")).await.ok();
    assert_eq!(second["state"], milk(json!({ "crossroads": 10 })));
    let before = api.get(&format!("/v1/streams/{stream}/state?at=0")).await.ok();
    assert_eq!(before, json!({ "stream": stream, "version": 0, "state": null }));

    // The read models.
    let row = json!({ "name": "Milk", "unit": "kg", "reorder_level": 5,
                      "sites": { "crossroads": 3 }, "total": 3, "retired": false });
    let key = item.to_string();
    let stock = json!({ "position": 3, "value": { key.clone(): row }, "next": null });
    assert_eq!(api.view("stock").await, stock);
    let one = api.get(&format!("/v1/views/stock/{item}")).await.ok();
    assert_eq!(one, json!({ "position": 3, "value": row }));
    // 3 left, below the reorder level of 5: low on stock.
    assert_eq!(api.view("low_stock").await, stock);
    let low = api.get(&format!("/v1/views/low_stock/{item}")).await.ok();
    assert_eq!(low["value"], row);
    let activity = api.view("activity").await;
    assert_eq!(activity["position"], 3);
    let entries = activity["value"].as_array().expect("activity is a list");
    let positions: Vec<&Value> = entries.iter().map(|e| &e["position"]).collect();
    assert_eq!(positions, [3, 2, 1], "newest first");
    assert_eq!(entries[0]["item"], key.as_str());
    assert_eq!(entries[0]["actor"], "local");
    let history = api.get(&format!("/v1/views/history/{item}")).await.ok();
    assert_eq!(history, json!({ "position": 3, "value": { "crossroads": [[2, 10], [3, 3]] } }));

    // A rejection records nothing.
    let refused = api.push(&[consume(item, "crossroads", 4)]).await.ok();
    assert_eq!(refused["head"], 3);
    assert_eq!(refused["results"][0]["status"], "rejected");
    assert_eq!(refused["results"][0]["code"], "insufficient_stock");
    assert!(refused["results"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(api.log().await, (recorded.clone(), 3));

    // What is not there.
    let nowhere = item_stream(Uuid::new_v4());
    assert_error(&api.get(&format!("/v1/streams/{nowhere}")).await, 404, "stream_not_found");
    let state = api.get(&format!("/v1/streams/{nowhere}/state")).await;
    assert_error(&state, 404, "stream_not_found");
    assert_error(&api.get("/v1/views/prices").await, 404, "view_not_found");
    assert_error(&api.get(&format!("/v1/views/prices/{item}")).await, 404, "view_not_found");
    let stranger = Uuid::new_v4();
    assert_error(&api.get(&format!("/v1/views/stock/{stranger}")).await, 404, "row_not_found");
    assert_error(&api.get(&format!("/v1/views/history/{stranger}")).await, 404, "row_not_found");
    assert_error(&api.get("/v1/views/activity/anything").await, 404, "row_not_found");

    // The service endpoints.
    let health = api.get("/healthz").await.ok();
    assert_eq!(health["status"], "ok");
    let openapi = api.get("/v1/openapi.json").await.ok();
    assert!(openapi["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{openapi}");
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.text().contains("annals_commands_accepted_total 3"), "{}", metrics.text());
    assert!(metrics.text().contains("annals_commands_rejected_total 1"), "{}", metrics.text());
}

/// A command's `expected` versions are checked against each named stream's actual version,
/// whether or not the command itself writes to that stream.
async fn expected_versions(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let (milk, flour) = (Uuid::new_v4(), Uuid::new_v4());
    let (milk_stream, flour_stream) = (item_stream(milk), item_stream(flour));
    api.push_accepted(&[add_item(milk, "Milk", 0), receive(milk, "crossroads", 4)]).await;

    let with = |mut command: Value, expected: Value| {
        command["expected"] = expected;
        command
    };
    // Its own stream, right and wrong.
    let right = with(receive(milk, "crossroads", 1), json!({ milk_stream.clone(): 2 }));
    let wrong = with(receive(milk, "crossroads", 1), json!({ milk_stream.clone(): 2 }));
    let results = api.push(&[right, wrong]).await.ok();
    assert_eq!(results["results"][0]["status"], "accepted");
    assert_eq!(results["results"][1]["status"], "rejected");
    assert_eq!(results["results"][1]["code"], "wrong_expected_version");
    // Another stream it only reads: milk is at 3, and flour has no events (version 0).
    let guarded = with(add_item(flour, "Flour", 0), json!({ milk_stream.clone(): 3 }));
    let result = api.push(&[guarded]).await.ok();
    assert_eq!(result["results"][0]["status"], "accepted", "{result}");
    let stale = with(receive(flour, "hilltop", 1), json!({ milk_stream.clone(): 2 }));
    let result = api.push(&[stale]).await.ok();
    assert_eq!(result["results"][0]["code"], "wrong_expected_version", "{result}");
    let fresh = with(receive(flour, "hilltop", 1), json!({ flour_stream: 1, milk_stream: 3 }));
    let result = api.push(&[fresh]).await.ok();
    assert_eq!(result["results"][0]["status"], "accepted", "{result}");
}
