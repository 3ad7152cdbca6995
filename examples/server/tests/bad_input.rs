//! Bad input of every kind: malformed JSON, wrong types, unknown command and event types,
//! bodies and batches over the limits, absurd query parameters. Each gets a 4xx with
//! `{"error": {"code", "message"}}`, never a 5xx, and nothing already accepted is lost.

mod common;

use annals_core::Uuid;
use common::*;
use serde_json::{Value, json};

on_both_backends!(refused_input => refused_input_sqlite, refused_input_postgres);
on_both_backends!(absurd_values => absurd_values_sqlite, absurd_values_postgres);

const SITE: &str = "crossroads";

/// One bad request and what it must get: a status and, where it is fixed, a code.
struct Case {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
    status: u16,
    code: Option<&'static str>,
}

fn post(path: impl Into<String>, body: impl Into<Vec<u8>>, code: &'static str) -> Case {
    let (path, body) = (path.into(), Some(body.into()));
    Case { method: "POST", path, body, status: 400, code: Some(code) }
}

fn get(path: impl Into<String>, status: u16, code: Option<&'static str>) -> Case {
    Case { method: "GET", path: path.into(), body: None, status, code }
}

/// A 400 `invalid_parameter` for a GET.
fn parameter(path: impl Into<String>) -> Case {
    get(path, 400, Some("invalid_parameter"))
}

fn commands(commands: Value) -> Vec<u8> {
    json!({ "commands": commands }).to_string().into_bytes()
}

/// One command of `kind` with `data`, as a list.
fn one(kind: &str, data: Value) -> Value {
    json!([{ "id": Uuid::new_v4(), "type": kind, "data": data }])
}

/// A raw append body with one event of `kind` and `data`.
fn event(kind: &str, data: Value) -> Value {
    let event = json!({ "id": Uuid::new_v4(), "type": kind, "data": data });
    json!({ "expected_version": "any", "events": [event] })
}

fn cases(item: Uuid) -> Vec<Case> {
    let stream = item_stream(item);
    let push = |body: Vec<u8>, code| post("/v1/commands", body, code);
    let bad_command = |data: Value| push(commands(one("ConsumeStock", data)), "invalid_command");
    let append =
        |body: Value, code| post(format!("/v1/streams/{stream}/events"), body.to_string(), code);
    let fine_append = event("StockReceived", json!({ "site": SITE, "qty": 1 })).to_string();
    let expecting = |expected: Value| {
        let command = json!({ "id": Uuid::new_v4(), "type": "ReceiveStock", "expected": expected,
                              "data": { "item": item, "site": SITE, "qty": 1 } });
        commands(json!([command]))
    };
    let id = Uuid::new_v4();
    // Nested past the recursion limit (128 levels): the body is refused before any decision.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested = format!(r#"{{"commands":[{{"id":"{id}","type":"AddItem","data":{deep}}}]}}"#);
    let data = format!(r#"{{"item":"{item}","site":"a","qty":1e400}}"#);
    let overflowing =
        format!(r#"{{"commands":[{{"id":"{id}","type":"ReceiveStock","data":{data}}}]}}"#);
    let huge = commands(json!([add_item(Uuid::new_v4(), &"x".repeat(1536 * 1024), 0)]));
    let mut batch: Vec<Value> = (0..1001).map(|_| receive(item, SITE, 1)).collect();
    let over_batch = commands(Value::from(batch.clone()));
    batch.truncate(2);
    batch.push(json!({ "id": Uuid::new_v4(), "type": "StealStock", "data": {} }));
    let long = format!("item-{}", "7".repeat(300));
    let too_large = |body| Case { status: 413, ..push(body, "too_large") };
    vec![
        // No such endpoint, or not with this method.
        get("/v1/nothing-here", 404, Some("route_not_found")),
        get("/v1/commands", 405, Some("method_not_allowed")),
        Case { status: 405, code: Some("method_not_allowed"), ..post("/v1/events", "{}", "") },
        // Not JSON, or not the shape of a push.
        push(b"{\"commands\": [".to_vec(), "invalid_json"),
        push(b"this is not json".to_vec(), "invalid_json"),
        push(Vec::new(), "invalid_json"),
        push(vec![0xff, 0xfe, 0x00], "invalid_json"),
        push(nested.into_bytes(), "invalid_body"),
        push(overflowing.into_bytes(), "invalid_command"),
        push(b"{}".to_vec(), "invalid_body"),
        push(b"[]".to_vec(), "invalid_body"),
        push(b"{\"commands\": \"all of them\"}".to_vec(), "invalid_body"),
        push(
            commands(json!([{ "id": "not-a-uuid", "type": "AddItem", "data": {} }])),
            "invalid_body",
        ),
        push(commands(json!([{ "id": Uuid::new_v4(), "type": 7, "data": {} }])), "invalid_body"),
        push(commands(json!([{ "id": Uuid::new_v4(), "type": "AddItem" }])), "invalid_body"),
        push(expecting(json!({ stream.clone(): -1 })), "invalid_body"),
        push(expecting(json!({ stream.clone(): "latest" })), "invalid_body"),
        push(expecting(json!("yes")), "invalid_body"),
        // Wrong types inside a command.
        bad_command(json!({ "item": item, "site": SITE, "qty": "5" })),
        bad_command(json!({ "item": item, "site": SITE, "qty": 1.5 })),
        bad_command(json!({ "item": item, "site": SITE, "qty": 9_223_372_036_854_775_808_u64 })),
        bad_command(json!({ "item": item, "site": SITE, "qty": null })),
        bad_command(json!({ "item": "milk", "site": SITE, "qty": 1 })),
        bad_command(json!({ "item": item, "site": ["a"], "qty": 1 })),
        bad_command(json!({ "item": item, "site": SITE })),
        bad_command(Value::Null),
        bad_command(json!("ConsumeStock")),
        // Unknown command types; one of them sinks the whole batch, valid commands included.
        push(commands(one("StealStock", json!({ "item": item }))), "unknown_command_type"),
        push(commands(one("", json!({}))), "unknown_command_type"),
        push(commands(Value::from(batch)), "unknown_command_type"),
        // Too large: the body, and the batch.
        too_large(huge),
        too_large(over_batch),
        // Raw appends.
        append(event("ItemStolen", json!({})), "unknown_event_type"),
        append(event("StockReceived", json!({ "site": SITE, "qty": "many" })), "invalid_event"),
        append(event("StockReceived", json!({ "site": SITE })), "invalid_event"),
        append(event("StockReceived", json!(null)), "invalid_event"),
        append(json!({ "expected_version": "whenever", "events": [] }), "invalid_body"),
        append(json!({ "expected_version": -1, "events": [] }), "invalid_body"),
        append(json!({ "expected_version": 1.5, "events": [] }), "invalid_body"),
        append(json!({ "expected_version": "any", "events": [] }), "invalid_body"),
        append(json!({ "expected_version": "any", "events": {} }), "invalid_body"),
        append(json!({ "expected_version": "any" }), "invalid_body"),
        append(json!({ "events": [received_event(SITE, 1)] }), "invalid_body"),
        append(
            json!({ "expected_version": "any", "events": [{ "id": 1, "type": "StockReceived",
                                                                "data": {} }] }),
            "invalid_body",
        ),
        append(
            json!({ "expected_version": "any", "events": [{ "id": Uuid::new_v4(),
            "type": "StockReceived", "data": { "site": SITE, "qty": 1 }, "meta": "me" }] }),
            "invalid_body",
        ),
        post(format!("/v1/streams/{stream}/events"), "{\"expected_version\":", "invalid_json"),
        post("/v1/streams/account-1/events", fine_append.clone(), "invalid_stream"),
        post("/v1/streams/item-/events", fine_append.clone(), "invalid_stream"),
        post(format!("/v1/streams/{long}/events"), fine_append.clone(), "invalid_stream"),
        // Absurd query parameters.
        parameter("/v1/events?limit=0"),
        parameter("/v1/events?limit=99999999999"),
        parameter("/v1/events?limit=10001"),
        parameter("/v1/events?limit=-5"),
        parameter("/v1/events?limit="),
        parameter("/v1/events?after=-1"),
        parameter("/v1/events?after=abc"),
        parameter("/v1/events?after=1.5"),
        parameter("/v1/events?after=99999999999999999999999"),
        parameter("/v1/events?after=1&after=2"),
        parameter(format!("/v1/streams/{stream}?from=-1")),
        parameter(format!("/v1/streams/{stream}?from=abc")),
        parameter(format!("/v1/streams/{stream}?limit=0")),
        parameter(format!("/v1/streams/{stream}?limit=99999999999")),
        // A version the stream has not reached: the stream has no state at it.
        get(format!("/v1/streams/{stream}/state?at=4"), 404, Some("version_not_found")),
        get(format!("/v1/streams/{stream}/state?at=99999999999"), 404, Some("version_not_found")),
        get(format!("/v1/streams/{stream}/state?at={}", u64::MAX), 404, Some("version_not_found")),
        parameter(format!("/v1/streams/{stream}/state?at=-1")),
        parameter(format!("/v1/streams/{stream}/state?at=abc")),
        get(format!("/v1/streams/{long}"), 400, Some("invalid_stream")),
        get(format!("/v1/streams/{long}/state"), 400, Some("invalid_stream")),
        // Names no stream or row can have: a NUL (which PostgreSQL text cannot hold), bytes
        // that are not UTF-8.
        get("/v1/streams/item-%00", 400, Some("invalid_stream")),
        get("/v1/streams/item-%00/state", 400, Some("invalid_stream")),
        post("/v1/streams/item-%00/events", fine_append, "invalid_stream"),
        get("/v1/views/stock/%00", 404, Some("row_not_found")),
        get("/v1/streams/%FF%FE", 400, None),
        get("/v1/streams/%FF%FE/state", 400, None),
        get("/v1/views/stock/%FF", 400, None),
    ]
}

/// Subscription requests that must be refused before any event is sent.
fn bad_subscriptions() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/v1/subscribe?after=abc".into(), vec![]),
        ("/v1/subscribe?after=-1".into(), vec![]),
        ("/v1/subscribe?after=1.5".into(), vec![]),
        ("/v1/subscribe?after=99999999999999999999999".into(), vec![]),
        ("/v1/subscribe".into(), vec![("Last-Event-ID", "abc")]),
        ("/v1/subscribe".into(), vec![("Last-Event-ID", "-1")]),
    ]
}

async fn refused_input(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let server = app.serve().await;
    let api = app.api.clone();
    let item = Uuid::new_v4();
    api.push_accepted(&[
        add_item(item, "Cocoa", 0),
        receive(item, SITE, 5),
        consume(item, SITE, 2),
    ])
    .await;
    let log = api.log().await;
    let stock = api.view("stock").await;

    for case in cases(item) {
        let reply = api.send(case.method, &case.path, &[], case.body.as_deref()).await;
        let shown: String = case.path.chars().take(120).collect();
        let what =
            format!("{} {shown} ({} bytes)", case.method, case.body.as_ref().map_or(0, Vec::len));
        assert_eq!(reply.status, case.status, "{what}: {}", reply.text());
        let code = error_code(&reply);
        if let Some(expected) = case.code {
            assert_eq!(code, expected, "{what}: {}", reply.text());
        }
    }
    for (path, headers) in bad_subscriptions() {
        match server.api.try_subscribe(&path, &headers).await {
            Ok(_) => panic!("the subscription {path} {headers:?} was accepted"),
            Err(reply) => assert_error(&reply, 400, "invalid_parameter"),
        }
    }

    // Nothing was lost or added, and the writer still works.
    assert_eq!(api.log().await, log);
    assert_eq!(api.view("stock").await, stock);
    let reply = api.push_accepted(&[receive(item, SITE, 1)]).await;
    assert_eq!(reply["head"], 4);
}

/// Well-formed requests with extreme values: answered, never a 5xx, the writer unharmed.
async fn absurd_values(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let server = app.serve().await;
    let api = app.api.clone();
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    api.push_accepted(&[add_item(item, "Cocoa", 0), receive(item, SITE, 5)]).await;

    // Positions and versions past anything stored: nothing there.
    let far = u64::MAX;
    assert_eq!(
        api.get(&format!("/v1/events?after={far}")).await.ok(),
        json!({ "events": [], "head": 2 })
    );
    let late = api.get(&format!("/v1/events?after={}&limit=10000", i64::MAX)).await.ok();
    assert_eq!(late, json!({ "events": [], "head": 2 }));
    let tail = api.get(&format!("/v1/streams/{stream}?from={far}")).await.ok();
    assert_eq!(tail, json!({ "stream": stream, "version": 2, "events": [] }));
    // A subscription resuming from there waits quietly: nothing lies beyond.
    let mut live = server
        .api
        .try_subscribe("/v1/subscribe", &[("Last-Event-ID", "18446744073709551615")])
        .await
        .expect("a subscription");
    assert!(live.next_within(std::time::Duration::from_millis(300)).await.is_none());

    // Extreme quantities and texts are decided (refused), not crashes.
    let max = i64::MAX;
    let refused = [
        receive(item, SITE, max),
        receive(item, SITE, 0),
        consume(item, SITE, i64::MIN),
        command("CountStock", json!({ "item": item, "site": SITE, "counted": -1 })),
        add_item(Uuid::new_v4(), &"n".repeat(10_000), 0),
        add_item(Uuid::new_v4(), "   ", 0),
        receive(item, &"s".repeat(1_000), 1),
        add_item(Uuid::new_v4(), "Cocoa", -1),
    ];
    let reply = api.push(&refused).await.ok();
    for result in reply["results"].as_array().expect("results") {
        assert_eq!(result["status"], "rejected", "{result}");
    }
    assert_eq!(reply["head"], 2);
    // `expected` naming streams that cannot exist: they are at version 0.
    let mut nowhere = receive(item, SITE, 1);
    nowhere["expected"] = json!({ "item-\u{0}": 0, "item-\u{1}x": 0, "": 0 });
    let mut moved = receive(item, SITE, 1);
    moved["expected"] = json!({ "item-\u{0}": 1 });
    let reply = api.push(&[nowhere, moved]).await.ok();
    assert_eq!(reply["results"][0]["status"], "accepted", "{reply}");
    assert_eq!(reply["results"][1]["code"], "wrong_expected_version", "{reply}");
    api.push_accepted(&[consume(item, SITE, 1)]).await;
    // At the very top of the range: counted up to i64::MAX, then nothing more fits.
    let count = command("CountStock", json!({ "item": item, "site": SITE, "counted": max }));
    api.push_accepted(&[count]).await;
    let more = [receive(item, SITE, 1), receive(item, "hilltop", 1)];
    let reply = api.push(&more).await.ok();
    for result in reply["results"].as_array().expect("results") {
        assert_eq!(result["code"], "invalid_quantity", "{result}");
    }
    api.push_accepted(&[consume(item, SITE, max)]).await;
    let (events, head) = api.log().await;
    assert_eq!(head, 6);
    assert_whole_log(&events, head);
    assert_stock_matches(&api.view("stock").await["value"], &events);
}
