//! P1: rebuild every inventory view from the stored log (SQLite), timed as the whole
//! `annals-server rebuild` process.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::http::Client;
use crate::report::Row;
use crate::server::Server;
use crate::stats::{median, thousands};
use crate::workload::{self, push};
use crate::{Bench, server, step};

/// Stores the generated log in a SQLite file and times rebuilds of its views. Returns the
/// row and the database's URL, which P5 and P10 use as "a server with the log stored".
pub fn p1(bench: &Bench) -> (Row, Option<String>) {
    let events = bench.settings.log_events;
    let mut row = Row::new(
        "P1",
        format!(
            "rebuild all inventory views from {} stored events (SQLite)",
            thousands(events as f64)
        ),
        "≥ 1,000,000 events/s",
    );
    let database = server::sqlite(&bench.work, "log");
    let outcome = measure(bench, &database, &mut row);
    let stored = outcome.is_ok().then_some(database);
    (row.or_fail(outcome), stored)
}

/// The generated log stored in a SQLite file as P1 stores it, for the measures that read it
/// when P1 itself is not run; `None` (said on the console) if storing it failed.
pub fn stored_log(bench: &Bench) -> Option<String> {
    let events = bench.settings.log_events;
    let database = server::sqlite(&bench.work, "log");
    step(&format!("store {events} events in {database}"), || load(bench, &database, events))
        .ok()
        .map(|_| database)
}

fn measure(bench: &Bench, database: &str, row: &mut Row) -> Result<(), String> {
    let events = bench.settings.log_events;
    step(&format!("P1: store {events} events in {database}"), || {
        let seconds = load(bench, database, events)?;
        row.note(format!(
            "The log was stored through the server as the commands that make it, 1,000 per \
             request from one client, in {seconds:.1} s ({} events/s). (P11 times \
             `annals-server import`.)",
            thousands(events as f64 / seconds)
        ));
        Ok(())
    })?;
    let mut rates = Vec::new();
    for run in 1..=bench.settings.runs {
        let seconds = step(&format!("P1: rebuild, run {run}"), || {
            let started = Instant::now();
            let printed = cli(bench, &["rebuild", "--database", database, "--tenant", "default"])?;
            let seconds = started.elapsed().as_secs_f64();
            if !printed.contains(&format!("from {events} events")) {
                return Err(format!("the rebuild did not fold {events} events: {printed}"));
            }
            Ok(seconds)
        })?;
        rates.push(events as f64 / seconds);
    }
    let rate = median(&rates);
    row.measured(format!("{} events/s", thousands(rate)), rate, 1_000_000.0, false);
    row.note(format!(
        "Each run is the whole `annals-server rebuild` process: open the file, fold {} events \
         into the four views, write the views back; runs: {}.",
        thousands(events as f64),
        rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}

/// Stores the first `events` events of the generated log by sending the commands that make
/// them to a server of its own; returns the seconds it took.
fn load(bench: &Bench, database: &str, events: u64) -> Result<f64, String> {
    let server = Server::start(&bench.server_bin, database, &bench.work, &[])?;
    let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut first = 0;
    while first < events {
        let last = (first + 1000).min(events);
        let commands: Vec<String> = (first..last).map(workload::log_command).collect();
        let response =
            client.post("/v1/commands", push(&commands).as_bytes()).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response.body);
        let accepted = text.matches(r#""status":"accepted""#).count() as u64;
        if response.status != 200 || accepted != last - first {
            let start: String = text.chars().take(300).collect();
            return Err(format!(
                "storing events {first}..{last}: HTTP {}, {accepted} accepted: {start}",
                response.status
            ));
        }
        first = last;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Runs `annals-server <args>` and returns what it printed on stderr.
pub fn cli(bench: &Bench, args: &[&str]) -> Result<String, String> {
    let output = Command::new(&bench.server_bin)
        .args(args)
        .args(["--domain", "inventory"])
        .env("RUST_LOG", "annals_server=warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run annals-server: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok(stderr)
    } else {
        Err(format!("annals-server {} failed: {}", args[0], stderr.trim()))
    }
}
