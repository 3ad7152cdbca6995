//! Many writers on one stream over HTTP: zero lost updates. Each conflict is either a
//! rejected command (`wrong_expected_version`, `insufficient_stock`) or, for raw appends, a
//! 409 `wrong_expected_version` with `expected` and `actual`.

mod common;

use std::collections::BTreeMap;

use annals_core::Uuid;
use annals_core::protocol::CommandRequest;
use annals_server::store::{WriteReply, WriteRequest};
use common::*;
use serde_json::{Value, json};

on_both_backends!(many_writers => many_writers_sqlite, many_writers_postgres);
on_both_backends!(stale_raw_append => stale_raw_append_sqlite, stale_raw_append_postgres);
on_both_backends!(queued_pushes => queued_pushes_sqlite, queued_pushes_postgres);

const SITE: &str = "crossroads";
const INITIAL: i64 = 60;
const WRITERS: usize = 16;
const ROUNDS: usize = 10;
const APPENDERS: usize = 4;

/// What one writer saw.
#[derive(Default)]
struct Tally {
    sent: usize,
    accepted: usize,
    consumed: i64,
    received: i64,
    codes: BTreeMap<String, usize>,
}

async fn many_writers(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let server = app.serve().await;
    let api = server.api.clone();
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    api.push_accepted(&[add_item(item, "Rice", 0), receive(item, SITE, INITIAL)]).await;

    // Command writers: read the version, then consume against it (most) or against the
    // latest state (every fourth writer sends no `expected`).
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (api, stream) = (api.clone(), stream.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            for round in 0..ROUNDS {
                let state = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
                let version = state["version"].as_u64().expect("version");
                let qty = 1 + ((writer + round) % 3) as i64;
                let mut command = consume(item, SITE, qty);
                if writer % 4 != 0 {
                    command["expected"] = json!({ stream.clone(): version });
                }
                let reply = api.push(&[command]).await.ok();
                let result = &reply["results"][0];
                tally.sent += 1;
                match result["status"].as_str() {
                    Some("accepted") => {
                        tally.accepted += 1;
                        tally.consumed += qty;
                    }
                    Some("rejected") => {
                        let code = result["code"].as_str().expect("code").to_owned();
                        *tally.codes.entry(code).or_default() += 1;
                    }
                    _ => panic!("neither accepted nor rejected: {result}"),
                }
            }
            tally
        }));
    }
    // Raw appenders (admin): append one receipt expecting the version last seen; on a 409,
    // try again against the `actual` version it reports, until the receipt is in.
    for _ in 0..APPENDERS {
        let (api, stream) = (api.clone(), stream.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let state = api.get(&format!("/v1/streams/{stream}")).await.ok();
            let mut version = state["version"].as_u64().expect("version");
            for _ in 0..ROUNDS {
                for attempt in 0.. {
                    assert!(attempt < 1000, "a raw append never got through");
                    let reply =
                        api.append(&stream, json!(version), &[received_event(SITE, 1)]).await;
                    tally.sent += 1;
                    if reply.status == 409 {
                        assert_error(&reply, 409, "wrong_expected_version");
                        let error = &reply.json()["error"];
                        assert_eq!(error["expected"], version);
                        let actual = error["actual"].as_u64().expect("actual");
                        assert!(actual > version, "{error}");
                        version = actual;
                        *tally.codes.entry("409".to_owned()).or_default() += 1;
                        continue;
                    }
                    let body = reply.ok();
                    assert_eq!(body["first_version"], version + 1, "{body}");
                    version += 1;
                    tally.accepted += 1;
                    tally.received += 1;
                    break;
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.expect("a writer");
        total.sent += tally.sent;
        total.accepted += tally.accepted;
        total.consumed += tally.consumed;
        total.received += tally.received;
        for (code, count) in tally.codes {
            *total.codes.entry(code).or_default() += count;
        }
    }

    // Every request was answered one way or the other, for a known reason.
    let refused: usize = total.codes.values().sum();
    assert_eq!(total.received, (APPENDERS * ROUNDS) as i64, "every receipt got in");
    assert_eq!(total.accepted + refused, total.sent, "{:?}", total.codes);
    for code in total.codes.keys() {
        assert!(
            ["wrong_expected_version", "insufficient_stock", "409"].contains(&code.as_str()),
            "unexpected refusal {code}"
        );
    }

    // Zero lost updates: the stock is what the accepted writes say, everywhere.
    let expected_stock = INITIAL - total.consumed + total.received;
    let state = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
    assert_eq!(state["version"], 2 + total.accepted as u64);
    assert_eq!(state["state"]["stock"][SITE], expected_stock, "{state}");
    let row = api.get(&format!("/v1/views/stock/{item}")).await.ok();
    assert_eq!(row["value"]["total"], expected_stock);
    let (events, head) = api.log().await;
    assert_whole_log(&events, head);
    assert_eq!(head, 2 + total.accepted as u64);
    let consumed: i64 = events
        .iter()
        .filter(|e| e["type"] == "StockConsumed")
        .map(|e| e["data"]["qty"].as_i64().expect("qty"))
        .sum();
    assert_eq!(consumed, total.consumed);
    assert_stock_matches(&api.view("stock").await["value"], &events);
}

/// Conflicts that do not depend on timing: a write against a version that has moved on.
async fn stale_raw_append(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    api.push_accepted(&[add_item(item, "Oats", 0), receive(item, SITE, 5)]).await;

    // Two commands read version 2; the first wins, the second is refused.
    let read = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
    assert_eq!(read["version"], 2);
    let mut first = consume(item, SITE, 1);
    first["expected"] = json!({ stream.clone(): 2 });
    let mut second = consume(item, SITE, 1);
    second["expected"] = json!({ stream.clone(): 2 });
    assert_eq!(api.push(&[first]).await.ok()["results"][0]["status"], "accepted");
    let refused = api.push(&[second]).await.ok();
    assert_eq!(refused["results"][0]["code"], "wrong_expected_version", "{refused}");

    // Raw appends: the stream is at 3.
    let cases: [(Value, u64); 4] =
        [(json!(2), 3), (json!(4), 3), (json!("no_stream"), 3), (json!(0), 3)];
    for (expected, actual) in cases {
        let reply = api.append(&stream, expected.clone(), &[received_event(SITE, 1)]).await;
        assert_error(&reply, 409, "wrong_expected_version");
        let error = &reply.json()["error"];
        assert_eq!(error["expected"], expected, "{error}");
        assert_eq!(error["actual"], actual, "{error}");
    }
    let empty = item_stream(Uuid::new_v4());
    let reply = api.append(&empty, json!("exists"), &[received_event(SITE, 1)]).await;
    assert_error(&reply, 409, "wrong_expected_version");
    assert_eq!(reply.json()["error"]["expected"], "exists");
    assert_eq!(reply.json()["error"]["actual"], 0);
    // None of them wrote anything.
    let (events, head) = api.log().await;
    assert_eq!(head, 3);
    assert_whole_log(&events, head);
    // The right expectations go through.
    let reply = api.append(&stream, json!(3), &[received_event(SITE, 2)]).await.ok();
    assert_eq!(reply, json!({ "first_version": 4, "last_version": 4, "positions": [4] }));
    let reply = api.append(&stream, json!("exists"), &[received_event(SITE, 2)]).await.ok();
    assert_eq!(reply["positions"], json!([5]));
    let reply = api.append(&stream, json!("any"), &[received_event(SITE, 2)]).await.ok();
    assert_eq!(reply["positions"], json!([6]));
}

/// Pushes queued at the writer together (the writer may decide them as one) give each its
/// own results, decided in arrival order: a later push sees what an earlier one did, a retried
/// command id answers its first result byte for byte, and a raw append between pushes keeps
/// its place.
async fn queued_pushes(backend: &Backend) {
    let db = backend.database().await;
    let store = db.store::<Inventory>().await;
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    let request = |commands: &[&Value]| WriteRequest::Commands {
        actor: "tester".to_owned(),
        at: 1,
        commands: commands
            .iter()
            .map(|c| serde_json::from_value::<CommandRequest>((*c).clone()).expect("a command"))
            .collect(),
    };
    let add = add_item(item, "Oats", 0);
    let receives: Vec<Value> = (0..10).map(|_| receive(item, SITE, 1)).collect();
    let too_much = consume(item, SITE, 11);
    let all = consume(item, SITE, 10);
    let append = WriteRequest::Append {
        actor: "tester".to_owned(),
        at: 1,
        stream: stream.clone(),
        request: serde_json::from_value(json!({
            "expected_version": "any",
            "events": [received_event(SITE, 5)],
        }))
        .expect("an append"),
    };
    // Sent at once: every job is queued before the first answer is awaited.
    let mut requests = vec![request(&[&add])];
    requests.extend(receives.iter().map(|r| request(&[r])));
    requests.push(request(&[&too_much, &receives[3]]));
    requests.push(append);
    requests.push(request(&[&all]));
    let pending: Vec<_> = requests.into_iter().map(|r| store.submit("default", r)).collect();
    let mut replies = Vec::new();
    for reply in pending {
        replies.push(reply.await.expect("committed"));
    }

    let results = |reply: &WriteReply| -> (Vec<Value>, u64) {
        match reply {
            WriteReply::Commands { results, head } => (
                results.iter().map(|r| serde_json::from_str(r.get()).expect("json")).collect(),
                *head,
            ),
            other => panic!("expected command results, got {other:?}"),
        }
    };
    let text = |reply: &WriteReply, at: usize| match reply {
        WriteReply::Commands { results, .. } => results[at].get().to_owned(),
        other => panic!("expected command results, got {other:?}"),
    };
    // AddItem, then ten receipts at versions 2..=11, each push's head at least its events.
    for (index, reply) in replies[..11].iter().enumerate() {
        let (results, head) = results(reply);
        assert_eq!(results[0]["status"], "accepted", "push {index}: {results:?}");
        assert_eq!(results[0]["events"][0]["version"], index as u64 + 1);
        assert!(head >= results[0]["events"][0]["position"].as_u64().expect("position"));
    }
    // Eleven units asked of ten: refused with its reason; the retried receipt answers the
    // bytes of its first result and records nothing.
    let (mixed, _) = results(&replies[11]);
    assert_eq!(mixed[0]["status"], "rejected");
    assert_eq!(mixed[0]["code"], "insufficient_stock");
    assert_eq!(text(&replies[11], 1), text(&replies[4], 0));
    match &replies[12] {
        WriteReply::Append(Ok(appended)) => assert_eq!(appended.first_version, 12),
        other => panic!("expected an append, got {other:?}"),
    }
    // Fifteen on hand after the append: ten consumed at version 13.
    let (last, head) = results(&replies[13]);
    assert_eq!(last[0]["status"], "accepted", "{last:?}");
    assert_eq!(last[0]["events"][0]["version"], 13);
    assert_eq!(head, 13);
    let page = store.events_after("default", 0, 100).await.expect("the log");
    assert_eq!(page.head, 13);
    assert_eq!(page.events.len(), 13);
}
