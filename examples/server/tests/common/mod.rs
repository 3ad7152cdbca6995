//! What the integration tests share: the harness of `annals_server::testing` (a fresh
//! database on either backend, the app in process or on a real socket, the real binary as a
//! child process, an HTTP client, tokens, `on_both_backends!`), and the inventory's commands
//! and checks of the log.

#![allow(dead_code, unused_imports)]

pub mod receiver;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use annals_core::Uuid;
use serde_json::{Value, json};

pub use annals_inventory::Inventory;
pub use annals_server::testing::*;

/// The `annals-server` binary of this package (the inventory and the bank).
pub const BINARY: &str = env!("CARGO_BIN_EXE_annals-server");

/// Starts the `annals-server` binary on `database` with the inventory and `args`; see
/// [`ServerProcess::start`].
pub async fn start_server(database: &str, args: &[&str], logs: &Path) -> ServerProcess {
    let args: Vec<&str> = ["--domain", "inventory"].iter().chain(args).copied().collect();
    ServerProcess::start(BINARY, database, &args, logs).await
}

/// Runs the `annals-server` binary with `args` and the variables `env` until it ends, and
/// returns its exit status and what it printed. A run still going after a minute (a `serve`
/// that started when it should have refused to) is killed and fails the test.
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .env_remove("ANNALS_AUTH_SECRET")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {BINARY}: {err}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("the binary's output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("the binary's output");
    panic!(
        "annals-server {args:?} was still running after a minute:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The stream of an item.
pub fn item_stream(item: Uuid) -> String {
    format!("item-{item}")
}

/// `AddItem`.
pub fn add_item(item: Uuid, name: &str, reorder_level: i64) -> Value {
    command(
        "AddItem",
        json!({ "item": item, "name": name, "unit": "kg", "reorder_level": reorder_level }),
    )
}

/// `ReceiveStock`.
pub fn receive(item: Uuid, site: &str, qty: i64) -> Value {
    command("ReceiveStock", json!({ "item": item, "site": site, "qty": qty }))
}

/// `ConsumeStock`.
pub fn consume(item: Uuid, site: &str, qty: i64) -> Value {
    command("ConsumeStock", json!({ "item": item, "site": site, "qty": qty }))
}

/// A raw `StockReceived` event with a fresh id.
pub fn received_event(site: &str, qty: i64) -> Value {
    json!({ "id": Uuid::new_v4(), "type": "StockReceived", "data": { "site": site, "qty": qty } })
}

/// Checks the log's shape: positions exactly 1..=head in order, event ids unique, and each
/// stream's versions 1, 2, 3... in log order.
#[track_caller]
pub fn assert_whole_log(events: &[Value], head: u64) {
    let positions: Vec<u64> = events.iter().map(position).collect();
    let expected: Vec<u64> = (1..=head).collect();
    if positions != expected {
        let gaps: Vec<u64> = expected.iter().filter(|p| !positions.contains(p)).copied().collect();
        panic!("the log's positions are not 1..={head}: {} events, missing {gaps:?}", events.len());
    }
    let mut ids = HashSet::new();
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for event in events {
        let id = event["id"].as_str().expect("id");
        assert!(ids.insert(id), "event {id} is in the log twice");
        let stream = event["stream"].as_str().expect("stream");
        let version = versions.entry(stream).or_default();
        *version += 1;
        assert_eq!(event["version"], *version, "{stream} skips a version: {event}");
    }
}

/// One item's stock as folded from the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folded {
    /// Units per site.
    pub sites: BTreeMap<String, i64>,
    /// Units over all sites.
    pub total: i64,
}

/// Each item's stock, folded from the log's events by hand.
pub fn fold_stock(events: &[Value]) -> BTreeMap<String, Folded> {
    let mut items: BTreeMap<String, Folded> = BTreeMap::new();
    for event in events {
        let stream = event["stream"].as_str().expect("stream");
        let item = stream.strip_prefix("item-").expect("an item stream").to_owned();
        let data = &event["data"];
        let site = data["site"].as_str().unwrap_or_default().to_owned();
        let delta = match event["type"].as_str().expect("type") {
            "StockReceived" => data["qty"].as_i64().expect("qty"),
            "StockConsumed" => -data["qty"].as_i64().expect("qty"),
            "StockCounted" => data["delta"].as_i64().expect("delta"),
            _ => {
                items.entry(item).or_default();
                continue;
            }
        };
        let folded = items.entry(item).or_default();
        *folded.sites.entry(site).or_default() += delta;
        folded.total += delta;
    }
    items
}

/// Checks that the `stock` view equals a fold of `events`.
#[track_caller]
pub fn assert_stock_matches(stock: &Value, events: &[Value]) {
    let folded = fold_stock(events);
    let rows = stock.as_object().expect("stock is an object");
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        folded.keys().collect::<Vec<_>>(),
        "the stock view and the log name different items"
    );
    for (item, expected) in &folded {
        let row = &rows[item];
        let sites: BTreeMap<String, i64> =
            serde_json::from_value(row["sites"].clone()).expect("sites");
        assert_eq!(sites, expected.sites, "stock of {item} per site");
        assert_eq!(row["total"], expected.total, "total stock of {item}");
    }
}

/// A small random number generator (xorshift), seeded at random.
pub struct Rng(u64);

impl Rng {
    /// A generator with a random seed.
    pub fn new() -> Rng {
        Rng(Uuid::new_v4().as_u64_pair().0 | 1)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The file of a `sqlite://PATH` URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
}

/// A connection of the test's own to a SQLite file the server also has open.
pub fn sqlite(path: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
    conn.busy_timeout(std::time::Duration::from_secs(10)).expect("a busy timeout");
    conn
}

/// A connection of the test's own to a PostgreSQL database.
pub async fn postgres(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}
