//! Reactions in process, on both backends: the inventory's reorder reaction issues one
//! request per crossing below the reorder level, exactly once, with its cause in the meta; a
//! handler that fails parks the event after its tries while later events go on, and a retry
//! from the API delivers it; the webhook reaction signs every chosen event and delivers those
//! a failing receiver refused once it answers again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use annals_core::Uuid;
use annals_example_server::reorder;
use annals_server::Limits;
use annals_server::reactions::webhook::Webhook;
use annals_server::reactions::{Consumer, Reaction};
use common::receiver::{WEBHOOK_SECRET, receiver};
use common::*;
use serde_json::{Value, json};

on_both_backends!(reorders_once_per_crossing => reorders_once_per_crossing_sqlite, reorders_once_per_crossing_postgres);
on_both_backends!(failing_events_are_parked => failing_events_are_parked_sqlite, failing_events_are_parked_postgres);
on_both_backends!(webhooks_deliver_every_chosen_event => webhooks_deliver_every_chosen_event_sqlite, webhooks_deliver_every_chosen_event_postgres);

/// Waits up to `limit` for `check` to hold, polling.
async fn eventually<F: AsyncFn() -> bool>(limit: Duration, what: &str, check: F) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The reaction `name` in `GET /v1/reactions`.
async fn reaction(api: &Api, name: &str) -> Value {
    let list = api.get("/v1/reactions").await.ok();
    let found = list["reactions"].as_array().expect("reactions").iter().find(|r| r["name"] == name);
    found.cloned().unwrap_or_else(|| panic!("no reaction {name} in {list}"))
}

/// Waits until reaction `name` has handled the whole log (which its own commands may grow).
async fn caught_up(api: &Api, name: &str) {
    eventually(Duration::from_secs(30), &format!("{name} catching up"), async || {
        reaction(api, name).await["lag"] == 0
    })
    .await;
}

fn count(item: Uuid, site: &str, counted: i64) -> Value {
    command("CountStock", json!({ "item": item, "site": site, "counted": counted }))
}

async fn reorders_once_per_crossing(backend: &Backend) {
    let db = backend.database().await;
    let reactions: Vec<Arc<dyn Consumer>> = vec![Arc::new(reorder())];
    let app = db.app_reacting::<Inventory>(None, Limits::default(), reactions).await;
    let (tea, milk) = (Uuid::new_v4(), Uuid::new_v4());
    app.api
        .push_accepted(&[
            add_item(tea, "Tea", 10),
            add_item(milk, "Milk", 0),
            receive(tea, "hilltop", 15),
            receive(tea, "crossroads", 3),
            receive(milk, "hilltop", 5),
        ])
        .await;
    let mut crossings = Vec::new();
    for (commands, crosses) in [
        (vec![consume(tea, "hilltop", 6)], true), // 15 to 9: below 10
        (vec![consume(tea, "hilltop", 1)], false), // 9 to 8: was below already
        (vec![consume(tea, "crossroads", 1)], false), // 3 to 2: was below already
        (vec![consume(milk, "hilltop", 5)], false), // a level of 0 is never crossed
        (vec![receive(tea, "hilltop", 10)], false), // 18: refilled
        (vec![count(tea, "hilltop", 4)], true),   // 18 to 4: below again
        (vec![count(tea, "hilltop", 12)], false),
    ] {
        let reply = app.api.push_accepted(&commands).await;
        if crosses {
            crossings.push(reply["results"][0]["events"][0].clone());
        }
    }
    caught_up(&app.api, "reorder").await;

    let (events, _) = app.api.log().await;
    let requests: Vec<&Value> = events.iter().filter(|e| e["type"] == "ReorderRequested").collect();
    assert_eq!(requests.len(), crossings.len(), "one request per crossing: {requests:?}");
    for (request, cause) in requests.iter().zip(&crossings) {
        assert_eq!(request["stream"], cause["stream"]);
        assert_eq!(request["meta"]["causation"], cause["id"], "{request}");
        assert_eq!(request["meta"]["actor"], "reaction:reorder");
        assert_eq!(request["data"]["site"], "hilltop");
    }
    // Each says what the site held when the request was decided, which may be after later
    // changes: the reaction runs behind the writes.

    // The second request is open until the last count refilled the site; none is open now.
    let reorders = app.api.view("reorders").await;
    assert_eq!(reorders["value"], json!({}), "{reorders}");
    app.api.push_accepted(&[consume(tea, "hilltop", 5)]).await; // 12 to 7
    caught_up(&app.api, "reorder").await;
    let reorders = app.api.view("reorders").await;
    let open = &reorders["value"][format!("{tea}/hilltop")];
    assert_eq!(open["held"], 7, "{reorders}");
    assert_eq!(open["reorder_level"], 10);
}

async fn failing_events_are_parked(backend: &Backend) {
    let db = backend.database().await;
    let failing = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let picky = {
        let (failing, seen) = (failing.clone(), seen.clone());
        Reaction::<Inventory>::sync("picky", move |delivery| {
            if delivery.event_type == "ItemRenamed" && failing.load(Ordering::Relaxed) {
                return Err("renames are not handled yet".into());
            }
            assert!(delivery.event_type != "ItemRetired", "retiring is not handled");
            seen.lock().expect("lock").push(delivery.position);
            Ok(Vec::new())
        })
        .tries(3)
        .backoff(Duration::from_millis(20))
    };
    let app = db.app_reacting::<Inventory>(None, Limits::default(), vec![Arc::new(picky)]).await;
    let item = Uuid::new_v4();
    let rename = |name: &str| command("RenameItem", json!({ "item": item, "name": name }));
    app.api.push_accepted(&[add_item(item, "Tea", 0), rename("Green tea")]).await;
    app.api.push_accepted(&[receive(item, "hilltop", 2), receive(item, "hilltop", 3)]).await;
    caught_up(&app.api, "picky").await;

    // The rename at 2 is parked after three tries; the events after it were handled.
    let state = reaction(&app.api, "picky").await;
    assert_eq!(state["position"], 4, "{state}");
    assert_eq!(state["parked"].as_array().map(Vec::len), Some(1), "{state}");
    let parked = &state["parked"][0];
    assert_eq!((parked["position"].as_u64(), parked["tries"].as_u64()), (Some(2), Some(3)));
    assert_eq!(parked["type"], "ItemRenamed");
    assert_eq!(parked["error"], "renames are not handled yet");
    assert_eq!(*seen.lock().expect("lock"), [1, 3, 4]);
    let metrics = app.api.get("/metrics").await.text();
    assert!(
        metrics.contains(r#"annals_reaction_parked{reaction="picky",tenant="default"} 1"#),
        "{metrics}"
    );

    // A retry from the API delivers it once the handler can.
    failing.store(false, Ordering::Relaxed);
    let retried = app.api.post("/v1/reactions/picky/parked/2/retry", &json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.text());
    eventually(Duration::from_secs(10), "the retry", async || {
        reaction(&app.api, "picky").await["parked"] == json!([])
    })
    .await;
    assert_eq!(*seen.lock().expect("lock"), [1, 3, 4, 2]);

    // A skipped event is never delivered.
    failing.store(true, Ordering::Relaxed);
    app.api.push_accepted(&[rename("Black tea")]).await;
    eventually(Duration::from_secs(10), "parking", async || {
        reaction(&app.api, "picky").await["parked"].as_array().is_some_and(|p| p.len() == 1)
    })
    .await;
    let skipped = app.api.post("/v1/reactions/picky/parked/5/skip", &json!({})).await;
    assert_eq!(skipped.status, 200, "{}", skipped.text());
    failing.store(false, Ordering::Relaxed);
    assert_eq!(reaction(&app.api, "picky").await["parked"], json!([]));
    let again = app.api.post("/v1/reactions/picky/parked/5/retry", &json!({})).await;
    assert_error(&again, 404, "parked_event_not_found");
    app.api.push_accepted(&[receive(item, "hilltop", 1)]).await;
    caught_up(&app.api, "picky").await;
    assert_eq!(*seen.lock().expect("lock"), [1, 3, 4, 2, 6]);

    // A handler that panics fails like one that errs: the event is parked, the rest go on.
    app.api.push_accepted(&[command("RetireItem", json!({ "item": item }))]).await;
    app.api.push_accepted(&[add_item(Uuid::new_v4(), "Milk", 0)]).await;
    caught_up(&app.api, "picky").await;
    let parked = &reaction(&app.api, "picky").await["parked"];
    assert_eq!(parked[0]["position"], 7, "{parked}");
    let error = parked[0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("the handler panicked: retiring is not handled"), "{error}");
    assert_eq!(*seen.lock().expect("lock"), [1, 3, 4, 2, 6, 8]);
}

async fn webhooks_deliver_every_chosen_event(backend: &Backend) {
    let db = backend.database().await;
    let (url, received) = receiver().await;
    received.failing.store(true, Ordering::Relaxed);
    let hook = Webhook::new("stock", &url, WEBHOOK_SECRET.as_bytes())
        .expect("a webhook")
        .event_types(&["StockReceived", "StockConsumed"])
        .backoff(Duration::from_millis(50));
    let app = db.app_reacting::<Inventory>(None, Limits::default(), vec![Arc::new(hook)]).await;
    let item = Uuid::new_v4();
    let mut chosen = Vec::new();
    for commands in [
        vec![add_item(item, "Tea", 0), receive(item, "hilltop", 5)],
        vec![consume(item, "hilltop", 2), count(item, "hilltop", 1)],
        vec![receive(item, "crossroads", 7)],
    ] {
        let reply = app.api.push_accepted(&commands).await;
        for result in reply["results"].as_array().expect("results") {
            for event in result["events"].as_array().expect("events") {
                if ["StockReceived", "StockConsumed"]
                    .contains(&event["type"].as_str().unwrap_or(""))
                {
                    chosen.push(event["id"].as_str().expect("id").to_owned());
                }
            }
        }
    }
    // The receiver refuses for a while: the first event is tried again, the rest wait.
    eventually(Duration::from_secs(10), "refusals", async || {
        received.refused.load(Ordering::Relaxed) >= 2
    })
    .await;
    assert_eq!(received.counts().0, 0);
    received.failing.store(false, Ordering::Relaxed);
    caught_up(&app.api, "webhook-stock").await;

    let mut ids = received.ids();
    ids.sort();
    chosen.sort();
    assert_eq!(ids, chosen, "every chosen event, and only those");
    assert_eq!(received.forged.load(Ordering::Relaxed), 0, "every signature verifies");
    let events = received.events.lock().expect("lock");
    let (_, first) = events.values().find(|(_, e)| e["position"] == 2).expect("the first");
    assert_eq!(first["data"], json!({ "site": "hilltop", "qty": 5 }));
}

on_both_backends!(operators_list_and_reset_reactions => operators_list_and_reset_reactions_sqlite, operators_list_and_reset_reactions_postgres);

/// A reaction that records the positions it is given.
fn recording(name: &str) -> (Reaction<Inventory>, Arc<Mutex<Vec<u64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let reaction = Reaction::<Inventory>::sync(name, move |delivery| {
        kept.lock().expect("lock").push(delivery.position);
        Ok(Vec::new())
    });
    (reaction, seen)
}

async fn operators_list_and_reset_reactions(backend: &Backend) {
    use annals_server::auth::Scope;

    let db = backend.database().await;
    let (reaction, seen) = recording("audit");
    let app = db
        .app_reacting::<Inventory>(Some(keys()), Limits::default(), vec![Arc::new(reaction)])
        .await;
    let admin = app.api.with_token(&token("acme", &[Scope::Read, Scope::Write, Scope::Admin]));
    let item = Uuid::new_v4();
    admin.push_accepted(&[add_item(item, "Tea", 0), receive(item, "hilltop", 3)]).await;
    admin.push_accepted(&[receive(item, "hilltop", 4)]).await;
    caught_up(&admin, "audit").await;
    assert_eq!(*seen.lock().expect("lock"), [1, 2, 3]);

    // Only the admin scope sees or touches reactions.
    let writer = app.api.with_token(&token("acme", &[Scope::Read, Scope::Write]));
    assert_error(&writer.get("/v1/reactions").await, 403, "forbidden");
    let retry = writer.post("/v1/reactions/audit/parked/1/retry", &json!({})).await;
    assert_error(&retry, 403, "forbidden");
    // Another tenant's admin sees the reaction at its own position in its own (empty) log.
    let other = app.api.with_token(&token("globex", &[Scope::Admin]));
    let theirs = other.get("/v1/reactions").await.ok();
    assert_eq!(theirs["head"], 0, "{theirs}");
    // Stopped: nothing holds its router (every client of it does) and so its reactions.
    drop((app, admin, writer, other));

    // The command line, with the server stopped: list, then start over after position 1.
    let database = db.url.as_str();
    let listed = run_binary(&["reactions", "list", "--database", database], &[]);
    assert!(listed.status.success(), "{listed:?}");
    let table = String::from_utf8_lossy(&listed.stdout);
    let line = table.lines().find(|l| l.starts_with("acme")).unwrap_or_else(|| panic!("{table}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(columns[..6], ["acme", "audit", "3", "0", "0", "0"], "{table}");
    let reset =
        run_binary(&["reactions", "reset", "audit", "--to", "1", "--database", database], &[]);
    assert!(reset.status.success(), "{reset:?}");
    assert!(String::from_utf8_lossy(&reset.stderr).contains("reset 1 checkpoint(s)"), "{reset:?}");

    // Served again, the reaction is given what follows position 1 once more.
    let (reaction, seen) = recording("audit");
    let app = db
        .app_reacting::<Inventory>(Some(keys()), Limits::default(), vec![Arc::new(reaction)])
        .await;
    let admin = app.api.with_token(&token("acme", &[Scope::Admin]));
    caught_up(&admin, "audit").await;
    assert_eq!(*seen.lock().expect("lock"), [2, 3]);
}
