//! cqrs-es doing the jobs annals is measured on, the way its docs show them: commands through
//! `CqrsFramework::execute` (load the aggregate, `handle`, commit with optimistic locking) on
//! `sqlite-es` and `postgres-es` with their default pools, and the whole log read back with
//! `QueryReplay::replay_all` into a query that folds a stock view.
//!
//! ```text
//! annals-bench-cqrs append --database sqlite://FILE|postgres://... --clients 64 --items 16
//!                          --seconds 5 --runs 5 --warmup 1
//! annals-bench-cqrs read --database sqlite://FILE|postgres://... --log LOG.ndjson --events N --runs 3
//! ```
//!
//! Prints one line of JSON on stdout; `annals-bench` reads it.

mod item;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cqrs_es::persist::{PersistedEventRepository, QueryReplay, SerializedEvent};
use cqrs_es::{AggregateError, CqrsFramework, EventEnvelope, EventStore, Query};
use postgres_es::PostgresEventRepository;
use serde_json::{Value, json};
use sqlite_es::SqliteEventRepository;

use item::{Item, ItemCommand, ItemEvent};

const SITES: [&str; 4] = ["crossroads", "harbour", "hilltop", "meadow"];

/// The tables sqlite-es and postgres-es expect (from their migrations); the application
/// creates them.
const SQLITE_TABLES: &str = "
CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
  event_version text NOT NULL, payload text NOT NULL, metadata text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT;
CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence integer CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL, payload text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)) STRICT;";
const POSTGRES_TABLES: [&str; 2] = [
    "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
  event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
];

type Result<T> = std::result::Result<T, String>;

struct Args(HashMap<String, String>);

impl Args {
    fn text(&self, name: &str) -> Result<&str> {
        self.0.get(name).map(String::as_str).ok_or_else(|| format!("--{name} is needed"))
    }

    fn number(&self, name: &str, default: f64) -> Result<f64> {
        self.0.get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{name} {v}")))
    }
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = argv.split_first() else {
        eprintln!("usage: annals-bench-cqrs append|read --database URL ...");
        std::process::exit(2);
    };
    let pairs = rest.chunks(2).filter_map(|pair| match pair {
        [name, value] => Some((name.trim_start_matches('-').to_owned(), value.clone())),
        _ => None,
    });
    let args = Args(pairs.collect());
    let outcome = match (mode.as_str(), args.text("database")) {
        ("append", Ok(url)) if url.starts_with("sqlite:") => {
            let pool = sqlite_pool(url).await;
            append(SqliteEventRepository::new(pool), &args).await
        }
        ("append", Ok(url)) => {
            append(PostgresEventRepository::new(postgres_pool(url).await), &args).await
        }
        ("read", Ok(url)) if url.starts_with("sqlite:") => {
            let pool = sqlite_pool(url).await;
            read(|| SqliteEventRepository::new(pool.clone()), &args).await
        }
        ("read", Ok(url)) => {
            let pool = postgres_pool(url).await;
            read(|| PostgresEventRepository::new(pool.clone()), &args).await
        }
        (_, Err(message)) => Err(message),
        (other, _) => Err(format!("unknown mode {other}")),
    };
    match outcome {
        Ok(value) => println!("{value}"),
        Err(message) => {
            eprintln!("annals-bench-cqrs: {message}");
            std::process::exit(1);
        }
    }
}

/// sqlite-es's default pool, with the tables created.
async fn sqlite_pool(url: &str) -> sqlx::Pool<sqlx::Sqlite> {
    let pool = sqlite_es::default_sqlite_pool(url).await;
    sqlx::raw_sql(SQLITE_TABLES).execute(&pool).await.expect("the cqrs-es tables");
    pool
}

/// postgres-es's default pool, with the tables created.
async fn postgres_pool(url: &str) -> sqlx::Pool<sqlx::Postgres> {
    let pool = postgres_es::default_postgress_pool(url).await;
    for table in POSTGRES_TABLES {
        sqlx::raw_sql(table).execute(&pool).await.expect("the cqrs-es tables");
    }
    pool
}

/// The ids annals-bench uses, so every peer writes the same streams.
fn uuid(kind: u16, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        0x5eed_0000u32 | u32::from(kind),
        (n >> 48) & 0xffff,
        (n >> 36) & 0xfff,
        (n >> 24) & 0xfff,
        n & 0xff_ffff_ffff
    )
}

/// Runs a command, again after a conflict or a busy database (as an application would);
/// returns how many retries it took.
async fn execute<ES: EventStore<Item>>(
    cqrs: &CqrsFramework<Item, ES>,
    id: &str,
    command: impl Fn() -> ItemCommand,
) -> Result<u32> {
    let mut retries = 0;
    loop {
        match cqrs.execute(id, command()).await {
            Ok(()) => return Ok(retries),
            Err(AggregateError::UserError(error)) => return Err(format!("{id}: {error}")),
            Err(error) if retries >= 50 => return Err(format!("{id}: {error}")),
            Err(_) => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(u64::from(retries))).await;
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// 64 writers, each owning its items: receive, receive, consume, one command at a time.
async fn append<R: PersistedEventRepository + 'static>(repo: R, args: &Args) -> Result<Value> {
    let clients = args.number("clients", 64.0)? as u64;
    let items = args.number("items", 16.0)? as u64;
    let store = cqrs_es::persist::PersistedEventStore::new_event_store(repo);
    let cqrs = Arc::new(CqrsFramework::new(store, vec![], ()));
    let setup = Instant::now();
    for n in 0..clients * items {
        execute(&cqrs, &uuid(1, n), || ItemCommand::AddItem {
            name: format!("Item {n}"),
            unit: "each".to_owned(),
            reorder_level: 10,
        })
        .await?;
    }
    let setup_seconds = setup.elapsed().as_secs_f64();
    let counters: Vec<Arc<Mutex<u64>>> = (0..clients).map(|_| Arc::default()).collect();
    let run = |seconds: f64| {
        let cqrs = cqrs.clone();
        let counters = counters.clone();
        async move {
            let started = Instant::now();
            let deadline = started + Duration::from_secs_f64(seconds);
            let mut tasks = Vec::new();
            for (c, counter) in counters.into_iter().enumerate() {
                let cqrs = cqrs.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut latencies, mut events, mut retries) = (Vec::new(), 0u64, 0u32);
                    while Instant::now() < deadline {
                        let k = {
                            let mut k = counter.lock().unwrap_or_else(|p| p.into_inner());
                            *k += 1;
                            *k - 1
                        };
                        let n = c as u64 * items + (k / 3) % items;
                        let site =
                            SITES[((k / 3 / items) % SITES.len() as u64) as usize].to_owned();
                        let sent = Instant::now();
                        retries += execute(&cqrs, &uuid(1, n), || {
                            let site = site.clone();
                            if k % 3 == 2 {
                                ItemCommand::ConsumeStock { site, qty: 1 }
                            } else {
                                ItemCommand::ReceiveStock { site, qty: 1 }
                            }
                        })
                        .await?;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        events += 1;
                    }
                    Ok::<_, String>((latencies, events, retries))
                }));
            }
            let (mut latencies, mut events, mut retries) = (Vec::new(), 0, 0);
            for task in tasks {
                let (l, e, r) = task.await.map_err(|e| e.to_string())??;
                latencies.extend(l);
                events += e;
                retries += r;
            }
            let seconds = started.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            Ok::<_, String>(json!({
                "events": events, "seconds": seconds, "retries": retries,
                "p50_ms": percentile(&latencies, 50.0), "p99_ms": percentile(&latencies, 99.0),
            }))
        }
    };
    run(args.number("warmup", 1.0)?).await?;
    let mut runs = Vec::new();
    for _ in 0..args.number("runs", 3.0)? as usize {
        runs.push(run(args.number("seconds", 5.0)?).await?);
    }
    Ok(json!({ "setup_seconds": setup_seconds, "runs": runs }))
}

/// A stock view (per item: name, quantity per site, total) folded by a query.
#[derive(Default)]
struct StockQuery {
    rows: Mutex<HashMap<String, StockRow>>,
    events: Mutex<u64>,
}

#[derive(Default)]
struct StockRow {
    name: String,
    sites: BTreeMap<String, i64>,
    total: i64,
}

#[async_trait]
impl Query<Item> for Arc<StockQuery> {
    async fn dispatch(&self, aggregate_id: &str, events: &[EventEnvelope<Item>]) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let row = rows.entry(aggregate_id.to_owned()).or_default();
        for envelope in events {
            match &envelope.payload {
                ItemEvent::ItemAdded { name, .. } | ItemEvent::ItemRenamed { name } => {
                    row.name.clone_from(name);
                }
                ItemEvent::StockReceived { site, qty, .. } => {
                    *row.sites.entry(site.clone()).or_default() += qty;
                    row.total += qty;
                }
                ItemEvent::StockConsumed { site, qty } => {
                    *row.sites.entry(site.clone()).or_default() -= qty;
                    row.total -= qty;
                }
                ItemEvent::StockCounted { site, counted, delta } => {
                    row.sites.insert(site.clone(), *counted);
                    row.total += delta;
                }
                ItemEvent::ItemRetired {} => {}
            }
        }
        *self.events.lock().unwrap_or_else(|p| p.into_inner()) += events.len() as u64;
    }
}

/// The generated log persisted through the repository stream by stream, then replayed whole
/// into the stock query.
async fn read<R: PersistedEventRepository + 'static>(
    repo: impl Fn() -> R,
    args: &Args,
) -> Result<Value> {
    let events = args.number("events", 50_000.0)? as usize;
    let log = std::fs::File::open(args.text("log")?).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let writer = repo();
    let mut run: Vec<SerializedEvent> = Vec::new();
    for line in std::io::BufReader::new(log).lines().take(events) {
        let line = line.map_err(|e| e.to_string())?;
        let envelope: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        let aggregate_id =
            envelope["stream"].as_str().unwrap_or_default().trim_start_matches("item-");
        let event_type = envelope["type"].as_str().unwrap_or_default().to_owned();
        let same = run.last().is_none_or(|last| last.aggregate_id == aggregate_id);
        if !same || run.len() >= 1000 {
            writer
                .persist::<Item>(&std::mem::take(&mut run), None)
                .await
                .map_err(|e| e.to_string())?;
        }
        run.push(SerializedEvent {
            aggregate_id: aggregate_id.to_owned(),
            sequence: envelope["version"].as_u64().unwrap_or_default() as usize,
            aggregate_type: "item".to_owned(),
            payload: json!({ &event_type: envelope["data"] }),
            event_type,
            event_version: "1.0".to_owned(),
            metadata: json!({ "command": envelope["meta"]["command"] }),
        });
    }
    writer.persist::<Item>(&run, None).await.map_err(|e| e.to_string())?;
    let load_seconds = started.elapsed().as_secs_f64();
    let mut runs = Vec::new();
    for _ in 0..args.number("runs", 3.0)? as usize {
        let query = Arc::new(StockQuery::default());
        let started = Instant::now();
        let mut replay = QueryReplay::new(repo(), query.clone());
        replay.use_error_handler(Box::new(|error| eprintln!("replay: {error}")));
        replay.replay_all().await.map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        let events = *query.events.lock().unwrap_or_else(|p| p.into_inner());
        let items = query.rows.lock().unwrap_or_else(|p| p.into_inner()).len();
        runs.push(json!({ "events": events, "seconds": seconds, "items": items }));
    }
    Ok(json!({ "load_seconds": load_seconds, "runs": runs }))
}
