//! The peers, doing the same jobs in the same run: Emmett (Node; SQLite and PostgreSQL event
//! stores) and cqrs-es (sqlite-es, postgres-es). Each runs as its own process on a fresh
//! database: appends by 64 concurrent writers (beside P2 and P3), and the generated log
//! loaded, then read back whole and folded (beside P1 and P5).

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::package::last_json;
use crate::report::{Peer, Row};
use crate::server::{self, PgDatabase};
use crate::stats::{median, ms, thousands};
use crate::{Bench, step};

/// A peer's figures for one job.
struct Figures {
    rate: f64,
    p99: Option<f64>,
    note: String,
}

/// Which store a peer job runs on.
#[derive(Clone, Copy, PartialEq)]
enum Store {
    Sqlite,
    Postgres,
}

/// Runs every peer job whose peer is installed and adds the figures to the matching rows.
/// Returns the failures (a peer that is there but broke).
pub fn compare(bench: &Bench, rows: &mut [Row]) -> Vec<String> {
    let emmett = bench.root.join("bench").join("peers").join("emmett");
    let has_emmett = emmett.join("node_modules").join("@event-driven-io").is_dir();
    let has_cqrs = bench.cqrs_bin.is_file();
    let ids: Vec<&'static str> = rows.iter().map(|r| r.id).collect();
    let has = |id: &str| ids.contains(&id);
    let mut failures = Vec::new();
    let peers: [(&str, bool, &str); 2] = [
        ("Emmett", has_emmett, "not installed (`npm ci` in bench/peers/emmett)"),
        ("cqrs-es", has_cqrs, "not built (bench/peers/cqrs)"),
    ];
    for (peer, present, why) in peers {
        for (store, append_row, read_rows) in
            [(Store::Sqlite, "P2", &["P1", "P5"][..]), (Store::Postgres, "P3", &["P5"][..])]
        {
            let name = format!("{peer} · {}", store_name(peer, store));
            if !present {
                note(rows, append_row, format!("{name}: {why}."));
                continue;
            }
            if has(append_row) {
                let outcome =
                    step(&format!("peer {name}: 64 writers"), || append(bench, peer, store));
                attach(rows, append_row, &name, outcome, true, &mut failures);
            }
            if read_rows.iter().any(|id| has(id)) {
                let outcome =
                    step(&format!("peer {name}: read the log back"), || read(bench, peer, store));
                for id in read_rows {
                    attach(rows, id, &name, clone(&outcome), false, &mut failures);
                }
            }
        }
    }
    failures.sort();
    failures.dedup();
    failures
}

fn store_name(peer: &str, store: Store) -> &'static str {
    match (peer, store) {
        ("Emmett", Store::Sqlite) => "emmett-sqlite",
        ("Emmett", Store::Postgres) => "emmett-postgresql",
        (_, Store::Sqlite) => "sqlite-es",
        (_, Store::Postgres) => "postgres-es",
    }
}

fn clone(outcome: &Result<Option<Figures>, String>) -> Result<Option<Figures>, String> {
    match outcome {
        Ok(Some(f)) => Ok(Some(Figures { rate: f.rate, p99: f.p99, note: f.note.clone() })),
        Ok(None) => Ok(None),
        Err(e) => Err(e.clone()),
    }
}

fn note(rows: &mut [Row], id: &str, text: String) {
    if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
        row.note(text);
    }
}

/// Puts a peer's figures beside annals' in row `id`.
fn attach(
    rows: &mut [Row],
    id: &str,
    name: &str,
    outcome: Result<Option<Figures>, String>,
    appends: bool,
    failures: &mut Vec<String>,
) {
    let Some(row) = rows.iter_mut().find(|r| r.id == id) else { return };
    match outcome {
        Ok(None) => {}
        Ok(Some(figures)) => {
            let mut figure = format!("{} events/s", thousands(figures.rate));
            if let Some(p99) = figures.p99 {
                figure.push_str(&format!(", p99 {}", ms(p99)));
            }
            let ratio = match row.value() {
                Some(ours) if figures.rate > 0.0 => {
                    format!("annals {}", times(ours / figures.rate))
                }
                _ => "no ratio".to_owned(),
            };
            row.peers.push(Peer { name: name.to_owned(), figure, ratio });
            if appends || id == "P1" {
                row.note(format!("{name}: {}", figures.note));
            }
        }
        Err(message) => {
            failures.push(format!("{name}: {message}"));
            row.peers.push(Peer {
                name: name.to_owned(),
                figure: format!("failed: {}", message.replace('|', "/")),
                ratio: "—".to_owned(),
            });
        }
    }
}

fn times(ratio: f64) -> String {
    if ratio >= 10.0 { format!("{ratio:.0}×") } else { format!("{ratio:.2}×") }
}

/// A database for a peer job: a SQLite file, or a fresh PostgreSQL database (`None` inside
/// when there is no PostgreSQL, and the job is skipped).
fn database(
    bench: &Bench,
    peer: &str,
    job: &str,
    store: Store,
) -> Result<(String, Option<PgDatabase>), String> {
    let label = format!("{}_{job}", if peer == "Emmett" { "emmett" } else { "cqrs" });
    match store {
        Store::Sqlite => {
            let url = server::sqlite(&bench.work, &label);
            // Emmett takes a file name; cqrs-es a sqlite:// URL.
            let target =
                if peer == "Emmett" { url.trim_start_matches("sqlite://").to_owned() } else { url };
            Ok((target, None))
        }
        Store::Postgres => {
            let database = PgDatabase::create(&label)?;
            Ok((database.url.clone(), Some(database)))
        }
    }
}

/// The command that runs a peer job.
fn command(bench: &Bench, peer: &str, store: Store, mode: &str, target: &str) -> Command {
    let mut command = if peer == "Emmett" {
        let dir = bench.root.join("bench").join("peers").join("emmett");
        let mut node = Command::new("node");
        node.arg(dir.join("bench.mjs")).current_dir(&dir);
        node.args([mode, "--store", if store == Store::Sqlite { "sqlite" } else { "postgres" }]);
        node
    } else {
        let mut cqrs = Command::new(&bench.cqrs_bin);
        cqrs.arg(mode);
        cqrs
    };
    command.args(["--database", target]).stdin(Stdio::null());
    command
}

fn run(mut command: Command) -> Result<Value, String> {
    let output = command.output().map_err(|e| format!("cannot start: {e}"))?;
    last_json(&output)
}

/// 64 writers, the same commands as P2/P3.
fn append(bench: &Bench, peer: &str, store: Store) -> Result<Option<Figures>, String> {
    let s = &bench.settings;
    let (target, _database) = match database(bench, peer, "append", store) {
        Ok(found) => found,
        Err(why) if store == Store::Postgres => {
            println!("    skipped: {why}");
            return Ok(None);
        }
        Err(why) => return Err(why),
    };
    let mut command = command(bench, peer, store, "append", &target);
    command.args([
        "--clients",
        &s.clients.to_string(),
        "--items",
        &s.items_per_client.to_string(),
        "--seconds",
        &s.seconds.to_string(),
        "--runs",
        &s.runs.to_string(),
        "--warmup",
        &s.warmup.to_string(),
    ]);
    let found = run(command)?;
    let runs = found["runs"].as_array().cloned().unwrap_or_default();
    let rates: Vec<f64> = runs
        .iter()
        .map(|r| r["events"].as_f64().unwrap_or(0.0) / r["seconds"].as_f64().unwrap_or(f64::NAN))
        .collect();
    let p99s: Vec<f64> = runs.iter().filter_map(|r| r["p99_ms"].as_f64()).collect();
    let retries: f64 = runs.iter().filter_map(|r| r["retries"].as_f64()).sum();
    let rate = median(&rates);
    if rate.is_nan() || rate <= 0.0 {
        return Err(format!("no events appended: {found}"));
    }
    Ok(Some(Figures {
        rate,
        p99: Some(median(&p99s)),
        note: format!(
            "{} writers × {} items, runs of {} s: {} events/s; {} retries after conflicts or a busy database.",
            s.clients,
            s.items_per_client,
            s.seconds,
            rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", "),
            retries
        ),
    }))
}

/// The generated log loaded, then read back whole and folded into a stock view.
fn read(bench: &Bench, peer: &str, store: Store) -> Result<Option<Figures>, String> {
    let s = &bench.settings;
    let (target, _database) = match database(bench, peer, "read", store) {
        Ok(found) => found,
        Err(why) if store == Store::Postgres => {
            println!("    skipped: {why}");
            return Ok(None);
        }
        Err(why) => return Err(why),
    };
    let mut command = command(bench, peer, store, "read", &target);
    let log = bench.log.display().to_string();
    command.args([
        "--log",
        &log,
        "--events",
        &s.log_events.to_string(),
        "--runs",
        &s.runs.to_string(),
    ]);
    let found = run(command)?;
    let runs = found["runs"].as_array().cloned().unwrap_or_default();
    for r in &runs {
        if r["events"].as_u64() != Some(s.log_events) {
            return Err(format!("read {} events of {}", r["events"], s.log_events));
        }
    }
    let rates: Vec<f64> = runs
        .iter()
        .map(|r| s.log_events as f64 / r["seconds"].as_f64().unwrap_or(f64::NAN))
        .collect();
    let load = found["load_seconds"].as_f64().unwrap_or(f64::NAN);
    Ok(Some(Figures {
        rate: median(&rates),
        p99: None,
        note: format!(
            "loading the {} events took {load:.1} s ({} events/s); reading them back and folding a \
             stock view: {} events/s.",
            thousands(s.log_events as f64),
            thousands(s.log_events as f64 / load),
            rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", ")
        ),
    }))
}
