//! Retries are always safe: a command id seen before returns its original result, byte for
//! byte, and appends nothing; a raw event id seen before returns the original positions. Also
//! when the first response was lost on the way back.

mod common;

use std::collections::{BTreeMap, HashMap};

use annals_core::Uuid;
use common::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

on_both_backends!(retried_pushes => retried_pushes_sqlite, retried_pushes_postgres);
on_both_backends!(dropped_responses => dropped_responses_sqlite, dropped_responses_postgres);
on_both_backends!(retried_appends => retried_appends_sqlite, retried_appends_postgres);
on_both_backends!(
    retried_exact_appends => retried_exact_appends_sqlite, retried_exact_appends_postgres
);

const SITE: &str = "crossroads";

/// A push response with each result kept as the exact text the server sent.
#[derive(Deserialize)]
struct Pushed<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
    head: u64,
}

/// Each result's exact text, by command id.
fn results_by_id(body: &[u8]) -> (BTreeMap<String, String>, u64) {
    let pushed: Pushed<'_> = serde_json::from_slice(body).expect("a push response");
    let results = pushed
        .results
        .iter()
        .map(|raw| {
            let value: Value = serde_json::from_str(raw.get()).expect("a result");
            (value["id"].as_str().expect("id").to_owned(), raw.get().to_owned())
        })
        .collect();
    (results, pushed.head)
}

fn push_body(commands: &[Value]) -> Vec<u8> {
    json!({ "commands": commands }).to_string().into_bytes()
}

/// Checks that no command's events are in the log twice and the log is whole.
async fn assert_no_duplicates(api: &Api) -> Vec<Value> {
    let (events, head) = api.log().await;
    assert_whole_log(&events, head);
    let mut per_command: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        *per_command.entry(event["meta"]["command"].as_str().expect("command")).or_default() += 1;
    }
    // Every inventory command records exactly one event.
    for (command, count) in per_command {
        assert_eq!(count, 1, "command {command} recorded {count} events");
    }
    events
}

async fn retried_pushes(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let item = Uuid::new_v4();
    let first = [
        add_item(item, "Flour", 0),
        receive(item, SITE, 10),
        consume(item, SITE, 3),
        consume(item, SITE, 100), // rejected: only 7 left
    ];
    let reply = api.post_bytes("/v1/commands", &push_body(&first)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (original, head) = results_by_id(&reply.body);
    assert_eq!(head, 3);

    // The same push again: the very same bytes, nothing appended.
    let again = api.post_bytes("/v1/commands", &push_body(&first)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, reply.body, "a retry answers exactly as the first push did");
    let log = assert_no_duplicates(&api).await;
    assert_eq!(log.len(), 3);

    // Stock arrives, so the refused command would now go through; its retry still returns the
    // original refusal. A batch where half the ids are old and half new.
    api.push_accepted(&[receive(item, SITE, 500)]).await;
    let fresh = [receive(item, SITE, 1), consume(item, SITE, 2)];
    let mixed = [fresh[0].clone(), first[1].clone(), fresh[1].clone(), first[3].clone()];
    let reply = api.post_bytes("/v1/commands", &push_body(&mixed)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (results, head) = results_by_id(&reply.body);
    assert_eq!(head, 6, "only the two new commands were recorded");
    for old in [&first[1], &first[3]] {
        let id = old["id"].as_str().expect("id");
        assert_eq!(results[id], original[id], "an old id's result is the original, byte for byte");
    }
    let order: Vec<Value> = serde_json::from_slice::<Value>(&reply.body).expect("json")["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    let sent: Vec<Value> = mixed.iter().map(|c| c["id"].clone()).collect();
    assert_eq!(order, sent, "results come in the request's order");
    for new in &fresh {
        let result: Value =
            serde_json::from_str(&results[new["id"].as_str().expect("id")]).expect("json");
        assert_eq!(result["status"], "accepted", "{result}");
    }
    // And that mixed batch retried: the same bytes again.
    let again = api.post_bytes("/v1/commands", &push_body(&mixed)).await;
    assert_eq!(again.body, reply.body);

    // One new push sent eight times at once: one decision, eight identical answers.
    let racing = [consume(item, SITE, 1), receive(item, SITE, 3), consume(item, SITE, 1)];
    let body = push_body(&racing);
    let replies = futures_join(8, || {
        let (api, body) = (api.clone(), body.clone());
        async move { api.post_bytes("/v1/commands", &body).await }
    })
    .await;
    let first_results = results_by_id(&replies[0].body).0;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(results_by_id(&reply.body).0, first_results);
    }
    let log = assert_no_duplicates(&api).await;
    assert_eq!(log.len(), 9);
    assert_stock_matches(&api.view("stock").await["value"], &log);
}

/// Runs `n` copies of a request concurrently and returns their replies.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("a request"));
    }
    replies
}

/// Over real HTTP, each push's response is lost (the client hangs up right after sending);
/// the client retries, twice. Nothing is recorded twice and both retries agree exactly.
async fn dropped_responses(backend: &Backend) {
    let db = backend.database().await;
    let app = db.app::<Inventory>().await;
    let server = app.serve().await;
    let api = server.api.clone();
    let items: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let setup: Vec<Value> = items.iter().map(|item| add_item(*item, "Beans", 0)).collect();
    api.push_accepted(&setup).await;

    let mut rng = Rng::new();
    let mut batches = Vec::new();
    for _ in 0..20 {
        let batch: Vec<Value> = (0..1 + rng.below(3))
            .map(|_| {
                let item = items[rng.below(items.len() as u64) as usize];
                let qty = 1 + rng.below(5) as i64;
                if rng.below(2) == 0 { receive(item, SITE, qty) } else { consume(item, SITE, qty) }
            })
            .collect();
        common::http::send_and_hang_up(server.addr, "POST", "/v1/commands", &push_body(&batch))
            .await;
        batches.push(batch);
    }
    for batch in &batches {
        let first = api.post_bytes("/v1/commands", &push_body(batch)).await;
        let second = api.post_bytes("/v1/commands", &push_body(batch)).await;
        assert_eq!(first.status, 200, "{}", first.text());
        assert_eq!(results_by_id(&first.body).0, results_by_id(&second.body).0);
    }
    let log = assert_no_duplicates(&api).await;
    assert_stock_matches(&api.view("stock").await["value"], &log);
    // Every accepted result's events are in the log exactly as answered.
    for batch in &batches {
        let reply = api.post_bytes("/v1/commands", &push_body(batch)).await.ok();
        for result in reply["results"].as_array().expect("results") {
            for event in result["events"].as_array().into_iter().flatten() {
                assert_eq!(&log[position(event) as usize - 1], event);
            }
        }
    }
}

async fn retried_appends(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let item = Uuid::new_v4();
    let stream = item_stream(item);
    api.push_accepted(&[add_item(Uuid::new_v4(), "Salt", 0)]).await;
    let events = [
        json!({ "id": Uuid::new_v4(), "type": "ItemAdded",
                "data": { "name": "Sugar", "unit": "kg", "reorder_level": 0 } }),
        received_event(SITE, 4),
        received_event(SITE, 6),
    ];
    let first = api.append(&stream, json!("no_stream"), &events).await.ok();
    assert_eq!(first, json!({ "first_version": 1, "last_version": 3, "positions": [2, 3, 4] }));
    // Retried: with the same expectation (now stale), with another one, and with "any".
    for expected in [json!("no_stream"), json!(0), json!(3), json!("any")] {
        let again = api.append(&stream, expected, &events).await.ok();
        assert_eq!(again, first, "a retried append returns the original positions");
    }
    let (log, head) = api.log().await;
    assert_eq!(head, 4, "nothing appended twice");
    assert_whole_log(&log, head);
    let state = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
    assert_eq!(state["state"]["stock"][SITE], 10);
    // New ids go through.
    let more = api.append(&stream, json!(3), &[received_event(SITE, 1)]).await.ok();
    assert_eq!(more["positions"], json!([5]));
}

/// Appends at an exact version (as `annals-server import` sends them), retried after later
/// appends moved the stream on: each retry is answered with what the first one recorded.
async fn retried_exact_appends(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Inventory>().await.api;
    let stream = item_stream(Uuid::new_v4());
    api.push_accepted(&[add_item(Uuid::new_v4(), "Salt", 0)]).await;
    let added = [
        json!({ "id": Uuid::new_v4(), "type": "ItemAdded",
                "data": { "name": "Sugar", "unit": "kg", "reorder_level": 0 } }),
        received_event(SITE, 4),
    ];
    let first = api.append(&stream, json!(0), &added).await.ok();
    assert_eq!(first, json!({ "first_version": 1, "last_version": 2, "positions": [2, 3] }));
    let received = [received_event(SITE, 1), received_event(SITE, 2), received_event(SITE, 3)];
    let second = api.append(&stream, json!(2), &received).await.ok();
    assert_eq!(second, json!({ "first_version": 3, "last_version": 5, "positions": [4, 5, 6] }));
    assert_eq!(api.append(&stream, json!(2), &received).await.ok(), second, "retried at once");

    let later = api.append(&stream, json!(5), &[received_event(SITE, 10)]).await.ok();
    assert_eq!(later["positions"], json!([7]));
    for (events, expected, answer) in [(&received[..], 2, &second), (&added[..], 0, &first)] {
        let again = api.append(&stream, json!(expected), events).await.ok();
        assert_eq!(&again, answer, "a retry after later appends returns the original positions");
    }
    // New events at a stale version are refused, not taken for a retry.
    let stale = api.append(&stream, json!(2), &[received_event(SITE, 1)]).await;
    assert_error(&stale, 409, "wrong_expected_version");
    let (log, head) = api.log().await;
    assert_eq!(head, 7, "nothing appended twice");
    assert_whole_log(&log, head);
    let state = api.get(&format!("/v1/streams/{stream}/state")).await.ok();
    assert_eq!(state["state"]["stock"][SITE], 20);
}
