//! `kill -9` during append load, three times over: the real binary is killed while several
//! clients push, then restarted on the same database. Every acknowledged command is in the
//! log exactly as it was answered, positions run 1..head without a gap, the stock view equals
//! a fold of the log, and commands whose answer was lost can be retried safely.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use annals_core::Uuid;
use common::*;
use serde_json::{Value, json};
use tokio::sync::Mutex;

on_both_backends!(kill_during_load => kill_during_load_sqlite, kill_during_load_postgres);

const SITES: [&str; 2] = ["crossroads", "hilltop"];
const CLIENTS: usize = 6;
const KILLS: usize = 3;

/// What the clients learned: the answered commands, and the pushes left without an answer.
#[derive(Default)]
struct Outcomes {
    answered: HashMap<String, Value>,
    unanswered: Vec<Vec<Value>>,
}

impl Outcomes {
    fn record(&mut self, reply: &Value) {
        for result in reply["results"].as_array().expect("results") {
            let id = result["id"].as_str().expect("id").to_owned();
            if let Some(before) = self.answered.insert(id.clone(), result.clone()) {
                assert_eq!(&before, result, "command {id} was answered two ways");
            }
        }
    }
}

fn random_command(rng: &mut Rng, items: &[Uuid]) -> Value {
    let item = items[rng.below(items.len() as u64) as usize];
    let site = SITES[rng.below(SITES.len() as u64) as usize];
    let qty = 1 + rng.below(9) as i64;
    match rng.below(5) {
        0 | 1 => receive(item, site, qty),
        2 | 3 => consume(item, site, qty),
        _ => command("CountStock", json!({ "item": item, "site": site, "counted": qty * 3 })),
    }
}

/// Pushes random batches until told to stop or until the server stops answering.
async fn load(
    api: Api,
    items: Arc<Vec<Uuid>>,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Outcomes>>,
) {
    let mut rng = Rng::new();
    while !stop.load(Ordering::Relaxed) {
        let batch: Vec<Value> =
            (0..1 + rng.below(4)).map(|_| random_command(&mut rng, &items)).collect();
        let body = json!({ "commands": batch }).to_string();
        match api.try_send("POST", "/v1/commands", &[], Some(body.as_bytes())).await {
            Ok(reply) if reply.status == 200 => outcomes.lock().await.record(&reply.json()),
            Ok(reply) => panic!("a push answered {}: {}", reply.status, reply.text()),
            Err(_) => {
                // The server died with this push in flight: it may or may not be recorded.
                outcomes.lock().await.unanswered.push(batch);
                return;
            }
        }
    }
}

/// Checks the restarted server's log against everything that was acknowledged.
async fn verify(api: &Api, outcomes: &Outcomes) {
    let (log, head) = api.log().await;
    assert_whole_log(&log, head);
    let by_command: HashMap<&str, &Value> =
        log.iter().map(|e| (e["meta"]["command"].as_str().expect("command"), e)).collect();
    assert_eq!(by_command.len(), log.len(), "one event per command");
    for (id, result) in &outcomes.answered {
        match result["status"].as_str() {
            Some("accepted") => {
                let events = result["events"].as_array().expect("events");
                assert_eq!(events.len(), 1);
                let event = &events[0];
                assert_eq!(&log[position(event) as usize - 1], event, "acknowledged {id} is lost");
            }
            _ => assert!(!by_command.contains_key(id.as_str()), "rejected {id} is in the log"),
        }
    }
    // Nothing in the log that no client sent.
    let sent: HashSet<&str> = outcomes
        .answered
        .keys()
        .map(String::as_str)
        .chain(outcomes.unanswered.iter().flatten().map(|c| c["id"].as_str().expect("id")))
        .collect();
    for event in &log {
        let command = event["meta"]["command"].as_str().expect("command");
        assert!(sent.contains(command), "the log holds {command}, which no client sent");
    }
    let stock = api.view("stock").await;
    assert_eq!(stock["position"], head, "the view is at the log's head");
    assert_stock_matches(&stock["value"], &log);
    // So is each stream's stored state.
    for (item, folded) in fold_stock(&log) {
        let state = api.get(&format!("/v1/streams/item-{item}/state")).await.ok();
        let stock: BTreeMap<String, i64> =
            serde_json::from_value(state["state"]["stock"].clone()).expect("stock per site");
        assert_eq!(stock, folded.sites, "the state of item {item}");
    }
}

async fn kill_during_load(backend: &Backend) {
    let db = backend.database().await;
    let logs = TempDir::new("annals-test-crash");
    let items: Arc<Vec<Uuid>> = Arc::new((0..4).map(|_| Uuid::new_v4()).collect());
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut server = start_server(&db.url, &[], logs.path()).await;
    let setup: Vec<Value> = items.iter().map(|item| add_item(*item, "Peas", 0)).collect();
    let reply = server.api.push_accepted(&setup).await;
    outcomes.lock().await.record(&reply);

    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let load = load(server.api.clone(), items.clone(), stop.clone(), outcomes.clone());
                tokio::spawn(load)
            })
            .collect();
        // Let the load run, then kill the server under it.
        let answered_before = outcomes.lock().await.answered.len();
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            if outcomes.lock().await.answered.len() >= answered_before + 40 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20 * round as u64)).await;
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.await.expect("a client");
        }

        server = start_server(&db.url, &[], logs.path()).await;
        let mut outcomes = outcomes.lock().await;
        assert!(outcomes.answered.len() > answered_before, "the load got no answers");
        verify(&server.api, &outcomes).await;
        // Pushes whose answer was lost are retried: each returns what was recorded, if it
        // was, or is decided now.
        for batch in std::mem::take(&mut outcomes.unanswered) {
            let reply = server.api.push(&batch).await.ok();
            outcomes.record(&reply);
        }
        verify(&server.api, &outcomes).await;
    }
}
