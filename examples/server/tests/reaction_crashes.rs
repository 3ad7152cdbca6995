//! Reactions against crashes, with the real binary: `kill -9` while its reactions are in the
//! middle of a page of events, again and again, loses no event (each delivered at least once)
//! and doubles no command a reaction issued (each in the log exactly once), on both backends;
//! and on PostgreSQL, a reaction runs on one node of two and moves to the other within
//! seconds when its node is killed, skipping no event.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use annals_core::Uuid;
use common::receiver::{Received, WEBHOOK_SECRET, receiver};
use common::*;
use serde_json::Value;

on_both_backends!(kill_while_reacting => kill_while_reacting_sqlite, kill_while_reacting_postgres);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_moves_to_another_node_postgres() {
    run_scenario(failover(&Backend::Postgres)).await;
}

const KILLS: usize = 4;
const SITES: [&str; 2] = ["crossroads", "hilltop"];
const LEVEL: i64 = 10;

/// The server's flags for a webhook `audit` to `url` that takes every event.
fn webhook_args(hook: &str) -> Vec<&str> {
    vec!["--webhook", hook, "--webhook-secret", WEBHOOK_SECRET]
}

/// Waits up to `limit` for `check` to hold, polling.
async fn eventually<F: AsyncFnMut() -> bool>(limit: Duration, what: &str, mut check: F) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `GET /v1/reactions` by name.
async fn reactions(api: &Api) -> HashMap<String, Value> {
    let list = api.get("/v1/reactions").await.ok();
    let all = list["reactions"].as_array().expect("reactions").iter();
    all.map(|r| (r["name"].as_str().expect("name").to_owned(), r.clone())).collect()
}

/// Waits until every reaction has handled the whole log.
async fn all_caught_up(api: &Api) {
    eventually(Duration::from_secs(60), "the reactions catching up", async || {
        let all = reactions(api).await;
        all.len() == 2 && all.values().all(|r| r["lag"] == 0)
    })
    .await;
}

/// A push of up to 20 random stock changes to `items`.
fn random_batch(rng: &mut Rng, items: &[Uuid]) -> Vec<Value> {
    (0..1 + rng.below(20))
        .map(|_| {
            let item = items[rng.below(items.len() as u64) as usize];
            let site = SITES[rng.below(SITES.len() as u64) as usize];
            let qty = 1 + rng.below(8) as i64;
            match rng.below(4) {
                0 => receive(item, site, qty * 2),
                _ => consume(item, site, qty),
            }
        })
        .collect()
}

/// The events whose change took a site from at or above the item's level to below it.
fn crossings(events: &[Value]) -> BTreeSet<String> {
    let mut levels: HashMap<String, i64> = HashMap::new();
    let mut held: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut crossing = BTreeSet::new();
    for event in events {
        let stream = event["stream"].as_str().expect("stream").to_owned();
        let data = &event["data"];
        let site = data["site"].as_str().unwrap_or("").to_owned();
        let int = |field: &str| data[field].as_i64().expect("an integer");
        let before = held.get(&(stream.clone(), site.clone())).copied().unwrap_or(0);
        let after = match event["type"].as_str().expect("type") {
            "ItemAdded" => {
                levels.insert(stream, int("reorder_level"));
                continue;
            }
            "StockReceived" => before + int("qty"),
            "StockConsumed" => before - int("qty"),
            "StockCounted" => int("counted"),
            _ => continue,
        };
        let level = levels[&stream];
        if event["type"] != "StockReceived" && before >= level && after < level {
            crossing.insert(event["id"].as_str().expect("id").to_owned());
        }
        held.insert((stream, site), after);
    }
    crossing
}

/// Every event of the log delivered at least once; every crossing answered by exactly one
/// reorder request, and no other request. Returns how many deliveries were repeats.
fn check(events: &[Value], received: &Received) -> u64 {
    let delivered = received.events.lock().expect("lock");
    let missing: Vec<&Value> =
        events.iter().filter(|e| !delivered.contains_key(e["id"].as_str().expect("id"))).collect();
    assert!(
        missing.is_empty(),
        "{} events never delivered, first {:?}",
        missing.len(),
        missing.first()
    );
    let repeats = delivered.values().map(|(n, _)| n - 1).sum();
    drop(delivered);

    let expected = crossings(events);
    let mut causes = BTreeSet::new();
    for request in events.iter().filter(|e| e["type"] == "ReorderRequested") {
        let cause = request["meta"]["causation"].as_str().expect("a causation").to_owned();
        assert!(causes.insert(cause.clone()), "two requests for the crossing {cause}");
        assert_eq!(request["meta"]["actor"], "reaction:reorder");
    }
    assert_eq!(causes, expected, "one reorder request per crossing, and no other");
    assert!(!expected.is_empty(), "the load crossed no reorder level");
    repeats
}

async fn kill_while_reacting(backend: &Backend) {
    let db = backend.database().await;
    let logs = TempDir::new("annals-test-reaction-crashes");
    let (url, received) = receiver().await;
    // Each delivery takes a moment, so the reactions are always in the middle of a page.
    received.delay_ms.store(3, Ordering::Relaxed);
    let hook = format!("audit={url}");
    let args = webhook_args(&hook);
    let mut server = start_server(&db.url, &args, logs.path()).await;
    let items: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
    let mut setup = Vec::new();
    for (n, item) in items.iter().enumerate() {
        setup.push(add_item(*item, &format!("Item {n}"), LEVEL));
        setup.extend(SITES.map(|site| receive(*item, site, 2 * LEVEL)));
    }
    server.api.push_accepted(&setup).await;

    let mut rng = Rng::new();
    for _ in 0..KILLS {
        for _ in 0..30 {
            server.api.push(&random_batch(&mut rng, &items)).await.ok();
        }
        // Killed while it delivers with events still to go: in the middle of a page, its
        // checkpoint behind what it delivered.
        let (_, before) = received.counts();
        eventually(Duration::from_secs(20), "deliveries with more to go", async || {
            let all = reactions(&server.api).await;
            let lag = all["webhook-audit"]["lag"].as_u64();
            received.counts().1 > before && lag.is_some_and(|lag| lag > 10)
        })
        .await;
        server.kill();
        server = start_server(&db.url, &args, logs.path()).await;
    }
    received.delay_ms.store(0, Ordering::Relaxed);
    all_caught_up(&server.api).await;

    let (events, head) = server.api.log().await;
    assert_whole_log(&events, head);
    let repeats = check(&events, &received);
    // Each kill came in the middle of a page: some events were delivered again after it.
    assert!(repeats > 0, "no event was delivered twice: no kill came mid-page");
    eprintln!(
        "{} events, {} reorder requests, {KILLS} kills: {repeats} deliveries repeated",
        events.len(),
        events.iter().filter(|e| e["type"] == "ReorderRequested").count()
    );
}

/// The node of `nodes` that runs reaction `name` now, if exactly one does.
async fn runner(nodes: &[&ServerProcess], name: &str) -> Option<usize> {
    let mut running = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        if reactions(&node.api).await.get(name).is_some_and(|r| r["running"] == true) {
            running.push(index);
        }
    }
    (running.len() == 1).then(|| running[0])
}

async fn failover(backend: &Backend) {
    let db = backend.database().await;
    let logs = TempDir::new("annals-test-reaction-failover");
    let (url, received) = receiver().await;
    let hook = format!("audit={url}");
    let args = webhook_args(&hook);
    let mut nodes = vec![
        start_server(&db.url, &args, logs.path()).await,
        start_server(&db.url, &args, logs.path()).await,
    ];
    let item = Uuid::new_v4();
    nodes[0].api.push_accepted(&[add_item(item, "Tea", LEVEL), receive(item, "hilltop", 40)]).await;
    for _ in 0..10 {
        nodes[1].api.push_accepted(&[consume(item, "hilltop", 1)]).await;
    }

    // Each reaction runs on one node only, and keeps there.
    let mut first = None;
    eventually(Duration::from_secs(10), "one node running the webhook", async || {
        first = runner(&[&nodes[0], &nodes[1]], "webhook-audit").await;
        first.is_some()
    })
    .await;
    let first = first.expect("a runner");
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(runner(&[&nodes[0], &nodes[1]], "webhook-audit").await, Some(first));
        assert!(runner(&[&nodes[0], &nodes[1]], "reorder").await.is_some());
    }
    all_caught_up(&nodes[first].api).await;

    // Its node dies; the other takes it over and delivers what came meanwhile.
    nodes[first].kill();
    let killed = Instant::now();
    let survivor = nodes.remove(1 - first);
    for _ in 0..25 {
        survivor.api.push_accepted(&[consume(item, "hilltop", 1)]).await;
    }
    eventually(Duration::from_secs(15), "the other node taking over", async || {
        runner(&[&survivor], "webhook-audit").await == Some(0)
    })
    .await;
    let takeover = killed.elapsed();
    all_caught_up(&survivor.api).await;
    let (events, head) = survivor.api.log().await;
    assert_whole_log(&events, head);
    check(&events, &received);
    assert!(takeover < Duration::from_secs(10), "took {takeover:?} to take over");
    eprintln!("the other node took the reaction over {takeover:?} after the kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serving_without_reactions_runs_none_sqlite() {
    run_scenario(async {
        let db = Backend::Sqlite.database().await;
        let logs = TempDir::new("annals-test-no-reactions");
        let server = start_server(&db.url, &["--no-reactions"], logs.path()).await;
        let item = Uuid::new_v4();
        let crossing = [
            add_item(item, "Tea", LEVEL),
            receive(item, "hilltop", 12),
            consume(item, "hilltop", 5),
        ];
        server.api.push_accepted(&crossing).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(reactions(&server.api).await.is_empty(), "no reaction is hosted or ran");
        let (events, _) = server.api.log().await;
        assert_eq!(events.len(), 3, "no reorder request: {events:?}");
    })
    .await;
}
