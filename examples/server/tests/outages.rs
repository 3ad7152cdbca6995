//! PostgreSQL only, on a cluster of the test's own: two server processes share one database
//! and clients push through both while PostgreSQL restarts (fast and immediate), while its
//! backends are terminated, and while it is away for half a minute.
//!
//! - Within five seconds of the database being back, every endpoint works on every node.
//! - Every acknowledged command is in the log exactly once, and so is every raw event.
//! - Every subscriber on every node receives every event exactly once, in order.
//! - While the database is away, requests are answered 503 `database_unavailable` with
//!   `Retry-After`, readiness says not ready, liveness stays up.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use annals_core::Uuid;
use common::*;
use serde_json::{Value, json};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

/// How soon after the database is back every endpoint must work on every node.
const BACK_WITHIN: Duration = Duration::from_secs(5);
/// Well under the subscriptions' fallback re-read (5 s): a delivery in time came by notice.
const DELIVERY: Duration = Duration::from_secs(3);
const SITE: &str = "crossroads";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_terminated_backends_postgres() {
    run_scenario(restarts_and_terminated_backends()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_thirty_seconds_postgres() {
    run_scenario(an_outage_of_thirty_seconds()).await;
}

/// What clients were told was recorded.
#[derive(Default)]
struct Acknowledged {
    /// Command results, by command id.
    commands: HashMap<String, Value>,
    /// Raw events appended, by id.
    events: HashSet<String>,
}

impl Acknowledged {
    fn record(&mut self, reply: &Value) {
        for result in reply["results"].as_array().expect("results") {
            let id = result["id"].as_str().expect("id").to_owned();
            if let Some(before) = self.commands.insert(id.clone(), result.clone()) {
                assert_eq!(&before, result, "command {id} was answered two ways");
            }
        }
    }
}

/// Checks a 503 of a database that cannot be reached.
#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 503, "{what}: {}", reply.text());
    assert_eq!(error_code(reply), "database_unavailable", "{what}: {}", reply.text());
    let retry = reply.header("retry-after").and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|seconds| seconds >= 1), "{what} has no Retry-After");
}

/// Sends `batch` until it is answered 200 (a 503 `database_unavailable` is sent again, with
/// the same ids, as a client does), and records the answer.
async fn push_until_answered(api: &Api, batch: &[Value], acked: &Mutex<Acknowledged>) {
    let body = json!({ "commands": batch }).to_string();
    loop {
        match api.try_send("POST", "/v1/commands", &[], Some(body.as_bytes())).await {
            Ok(reply) if reply.status == 200 => {
                acked.lock().await.record(&reply.json());
                return;
            }
            Ok(reply) => assert_unavailable(&reply, "a push"),
            Err(err) => panic!("a push was cut off: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pushes random batches through `api` until `stop`, each until it is answered.
async fn load(
    api: Api,
    items: Arc<Vec<Uuid>>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acknowledged>>,
) {
    let mut rng = Rng::new();
    while !stop.load(Ordering::Relaxed) {
        let batch: Vec<Value> = (0..1 + rng.below(3))
            .map(|_| {
                let item = items[rng.below(items.len() as u64) as usize];
                let qty = 1 + rng.below(5) as i64;
                if rng.below(3) == 0 { consume(item, SITE, qty) } else { receive(item, SITE, qty) }
            })
            .collect();
        push_until_answered(&api, &batch, &acked).await;
    }
}

/// A subscription read in the background.
struct Follower {
    /// Every envelope it delivered, once it has delivered the target position.
    task: JoinHandle<Vec<Value>>,
    /// The last position it delivered.
    progress: watch::Receiver<u64>,
}

/// Reads a subscription in the background until it has delivered position `target` (once
/// known).
fn follow(mut stream: EventStream, target: watch::Receiver<u64>) -> Follower {
    let (delivered, progress) = watch::channel(0);
    let task = tokio::spawn(async move {
        let mut events: Vec<Value> = Vec::new();
        loop {
            let target = *target.borrow();
            if target > 0 && events.last().map_or(0, position) >= target {
                return events;
            }
            match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
                Ok(Ok(Some(event))) => {
                    let envelope: Value = serde_json::from_str(&event.data).expect("an envelope");
                    delivered.send_replace(position(&envelope));
                    events.push(envelope);
                }
                Ok(Ok(None)) => panic!("a subscription ended after {} events", events.len()),
                Ok(Err(err)) => {
                    panic!("a subscription failed after {} events: {err}", events.len())
                }
                Err(_) => {}
            }
        }
    });
    Follower { task, progress }
}

/// Pushes through each node in turn and checks that the other node's subscriber has it
/// within [`DELIVERY`]: well before its periodic re-read of the log, so the nodes notify
/// each other again.
async fn notified(
    nodes: &[ServerProcess; 2],
    followers: &mut [Follower],
    item: Uuid,
    acked: &Mutex<Acknowledged>,
) {
    for round in 0..4 {
        let (sender, other) = (round % 2, 1 - round % 2);
        let reply = nodes[sender].api.push_accepted(&[receive(item, SITE, 1)]).await;
        acked.lock().await.record(&reply);
        let pushed = position(&reply["results"][0]["events"][0]);
        let progress = &mut followers[other].progress;
        let seen =
            tokio::time::timeout(DELIVERY, progress.wait_for(|last| *last >= pushed)).await.is_ok();
        assert!(
            seen,
            "{pushed} did not reach node {other} within {DELIVERY:?}:\n{}",
            nodes[other].log()
        );
    }
}

/// Waits until `send` answers 200, at the latest by `deadline`.
async fn answered(
    node: &ServerProcess,
    what: &str,
    deadline: Instant,
    send: impl AsyncFn() -> std::io::Result<Reply>,
) -> Reply {
    loop {
        let reply = send().await;
        match &reply {
            Ok(reply) if reply.status == 200 => return reply.clone(),
            _ if Instant::now() > deadline => {
                let said = reply
                    .map_or_else(|err| err.to_string(), |r| format!("{} {}", r.status, r.text()));
                panic!(
                    "{what} did not work within {BACK_WITHIN:?} of the database: {said}\n{}",
                    node.log()
                );
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Checks that every endpoint of `node` works by `deadline`: the probes, every read, a push,
/// a raw append and a new subscription that receives an event.
async fn serving(node: &ServerProcess, item: Uuid, deadline: Instant, acked: &Mutex<Acknowledged>) {
    let api = &node.api;
    let stream = item_stream(item);
    for path in [
        "/healthz".to_owned(),
        "/healthz/live".to_owned(),
        "/healthz/ready".to_owned(),
        "/v1/events?after=0&limit=5".to_owned(),
        format!("/v1/streams/{stream}"),
        format!("/v1/streams/{stream}/state"),
        "/v1/views/stock".to_owned(),
        format!("/v1/views/stock/{item}"),
        "/metrics".to_owned(),
        "/v1/openapi.json".to_owned(),
    ] {
        answered(node, &path, deadline, async || api.try_send("GET", &path, &[], None).await).await;
    }
    let push = json!({ "commands": [receive(item, SITE, 1)] }).to_string();
    let reply = answered(node, "a push", deadline, async || {
        api.try_send("POST", "/v1/commands", &[], Some(push.as_bytes())).await
    })
    .await;
    acked.lock().await.record(&reply.json());
    let pushed = position(&reply.json()["results"][0]["events"][0]);
    let event = received_event(SITE, 1);
    let append = json!({ "expected_version": "any", "events": [event] }).to_string();
    let path = format!("/v1/streams/{stream}/events");
    answered(node, "a raw append", deadline, async || {
        api.try_send("POST", &path, &[], Some(append.as_bytes())).await
    })
    .await;
    acked.lock().await.events.insert(event["id"].as_str().expect("id").to_owned());
    let mut subscription = api.subscribe(pushed - 1).await;
    let wait = deadline.saturating_duration_since(Instant::now());
    let delivered = subscription.next_within(wait).await;
    let delivered: Value =
        serde_json::from_str(&delivered.expect("a new subscription delivers").data)
            .expect("an envelope");
    assert_eq!(position(&delivered), pushed);
}

/// Checks the log against what was acknowledged, and every subscription against the log.
async fn verify(
    api: &Api,
    acked: &Acknowledged,
    subscribers: Vec<Follower>,
    target: &watch::Sender<u64>,
) {
    let (log, head) = api.log().await;
    assert_whole_log(&log, head);
    let mut by_command: HashMap<&str, Vec<&Value>> = HashMap::new();
    for event in &log {
        by_command
            .entry(event["meta"]["command"].as_str().expect("command"))
            .or_default()
            .push(event);
    }
    for (id, result) in &acked.commands {
        let recorded = by_command.get(id.as_str()).map_or(&[][..], Vec::as_slice);
        match result["status"].as_str() {
            Some("accepted") => {
                let answered: Vec<&Value> =
                    result["events"].as_array().expect("events").iter().collect();
                assert_eq!(
                    recorded, answered,
                    "acknowledged command {id} is not in the log exactly once"
                );
            }
            _ => assert!(recorded.is_empty(), "rejected command {id} is in the log"),
        }
    }
    for id in &acked.events {
        let found = log.iter().filter(|e| e["id"] == id.as_str()).count();
        assert_eq!(found, 1, "acknowledged raw event {id} is in the log {found} times");
    }
    for event in &log {
        let command = event["meta"]["command"].as_str().expect("command");
        let known = acked.commands.contains_key(command) || acked.events.contains(command);
        assert!(known, "the log holds {event}, which no client was answered for");
    }
    assert_stock_matches(&api.view("stock").await["value"], &log);

    target.send_replace(head);
    for (index, subscriber) in subscribers.into_iter().enumerate() {
        let delivered = tokio::time::timeout(Duration::from_secs(30), subscriber.task)
            .await
            .unwrap_or_else(|_| panic!("subscriber {index} did not reach {head} within 30 s"))
            .expect("a subscriber");
        let positions: Vec<u64> = delivered.iter().map(position).collect();
        let expected: Vec<u64> = (1..=head).collect();
        assert!(
            positions == expected,
            "subscriber {index} received positions {positions:?}, not 1..={head}"
        );
        assert_eq!(delivered, log, "subscriber {index} received other envelopes than the log's");
    }
}

/// Terminates every session of the server processes (they name themselves `annals-server`).
async fn terminate_backends(cluster: &Cluster) -> u64 {
    let admin = postgres(&cluster.admin_url()).await;
    let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
               WHERE application_name = 'annals-server'";
    let row = admin.query_one(sql, &[]).await.expect("terminate the backends");
    row.get::<_, i64>(0) as u64
}

enum Fault {
    Restart(Shutdown),
    Terminate,
}

async fn restarts_and_terminated_backends() {
    let cluster = Cluster::start().await;
    let db = cluster.database().await;
    let logs = TempDir::new("annals-test-outages");
    let nodes = [
        start_server(&db.url, &[], logs.path()).await,
        start_server(&db.url, &[], logs.path()).await,
    ];
    let (target, targeted) = watch::channel(0);
    let mut subscribers = Vec::new();
    for node in &nodes {
        for _ in 0..2 {
            subscribers.push(follow(node.api.subscribe(0).await, targeted.clone()));
        }
    }
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let items: Arc<Vec<Uuid>> = Arc::new((0..4).map(|_| Uuid::new_v4()).collect());
    let setup: Vec<Value> = items.iter().map(|item| add_item(*item, "Rice", 0)).collect();
    push_until_answered(&nodes[0].api, &setup, &acked).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            tokio::spawn(load(nodes[n % 2].api.clone(), items.clone(), stop.clone(), acked.clone()))
        })
        .collect();
    for fault in
        [Fault::Restart(Shutdown::Fast), Fault::Restart(Shutdown::Immediate), Fault::Terminate]
    {
        // Let the load run, then hit the database under it.
        let before = acked.lock().await.commands.len();
        while acked.lock().await.commands.len() < before + 30 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match fault {
            Fault::Restart(how) => cluster.restart(how).await,
            Fault::Terminate => {
                assert!(terminate_backends(&cluster).await >= 4, "the sessions of both nodes")
            }
        }
        let deadline = Instant::now() + BACK_WITHIN;
        let (item, acked) = (items[0], &*acked);
        tokio::join!(
            serving(&nodes[0], item, deadline, acked),
            serving(&nodes[1], item, deadline, acked)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client");
    }
    let acked = acked.lock().await;
    assert!(acked.commands.len() >= 90, "the load got {} answers", acked.commands.len());
    verify(&nodes[1].api, &acked, subscribers, &target).await;
    for node in &nodes {
        let metrics = metrics(&node.api).await;
        for connection in ["writer", "readers", "listener"] {
            let reconnects = metric(
                &metrics,
                &format!("annals_storage_reconnects_total{{connection=\"{connection}\"}}"),
            );
            assert!(reconnects >= 3, "the {connection} reconnected {reconnects} times:\n{metrics}");
        }
    }
}

async fn an_outage_of_thirty_seconds() {
    let cluster = Cluster::start().await;
    let db = cluster.database().await;
    let logs = TempDir::new("annals-test-outage");
    let nodes = [
        start_server(&db.url, &[], logs.path()).await,
        start_server(&db.url, &[], logs.path()).await,
    ];
    let (target, targeted) = watch::channel(0);
    let mut subscribers: Vec<_> =
        [nodes[0].api.subscribe(0).await, nodes[1].api.subscribe(0).await]
            .into_iter()
            .map(|stream| follow(stream, targeted.clone()))
            .collect();
    let acked = Mutex::new(Acknowledged::default());
    let item = Uuid::new_v4();
    push_until_answered(&nodes[0].api, &[add_item(item, "Oats", 0)], &acked).await;

    cluster.stop(Shutdown::Fast).await;
    let away = Instant::now();
    let mut refused = Vec::new();
    while away.elapsed() < Duration::from_secs(30) {
        for node in &nodes {
            let asked = Instant::now();
            let batch = [receive(item, SITE, 2)];
            assert_unavailable(&node.api.push(&batch).await, "a push");
            refused.push(batch);
            for path in
                ["/v1/events", "/v1/views/stock", &format!("/v1/streams/{}", item_stream(item))]
            {
                assert_unavailable(&node.api.get(path).await, path);
            }
            let ready = node.api.get("/healthz/ready").await;
            assert_unavailable(&ready, "readiness");
            assert_eq!(
                ready.json()["error"]["checks"]["read"],
                "database_unavailable",
                "{}",
                ready.text()
            );
            assert_eq!(node.api.get("/healthz/live").await.ok()["status"], "ok");
            assert_eq!(node.api.get("/healthz").await.ok()["status"], "ok");
            assert!(
                asked.elapsed() < Duration::from_secs(2),
                "the node took {:?} to answer",
                asked.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    cluster.start_again().await;
    let deadline = Instant::now() + BACK_WITHIN;
    tokio::join!(
        serving(&nodes[0], item, deadline, &acked),
        serving(&nodes[1], item, deadline, &acked)
    );
    notified(&nodes, &mut subscribers, item, &acked).await;
    // The pushes refused while the database was away were not recorded: sent again, each is
    // now, once.
    for (n, batch) in refused.iter().enumerate() {
        push_until_answered(&nodes[n % 2].api, batch, &acked).await;
    }
    let acked = acked.into_inner();
    verify(&nodes[0].api, &acked, subscribers, &target).await;
    for node in &nodes {
        let metrics = metrics(&node.api).await;
        for connection in ["writer", "readers", "listener"] {
            let name = format!("annals_storage_reconnects_total{{connection=\"{connection}\"}}");
            assert!(metric(&metrics, &name) >= 1, "the {connection} did not reconnect:\n{metrics}");
            let name =
                format!("annals_storage_connect_failures_total{{connection=\"{connection}\"}}");
            assert!(
                metric(&metrics, &name) >= 1,
                "no failed attempt of the {connection}:\n{metrics}"
            );
        }
    }
}

/// `GET /metrics`.
async fn metrics(api: &Api) -> String {
    let reply = api.get("/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.text()
}

/// The value of the sample `name` (with its labels) in Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}
