//! P12: a reaction in the server that does nothing. How fast it catches up on the stored log
//! (the P1 database), and how far behind the log it runs while P2's load is pushed to its
//! server. The server side is `annals-bench-reaction` (src/bin/): the example server with
//! the reaction `bench-noop` added.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::appends::{self, Ack, Appends};
use crate::http::Client;
use crate::report::{Ours, Row};
use crate::server::{self, Server};
use crate::stats::{median, ms, percentile_ms_signed, thousands};
use crate::{Bench, step};

/// The reaction's name in `annals-bench-reaction`.
const NAME: &str = "bench-noop";

/// The goal's rate, events/s.
const RATE_GOAL: f64 = 500_000.0;

/// The goal's lag p99, ms.
const LAG_GOAL: f64 = 100.0;

/// Times catch-ups of the no-op reaction on the P1 log, then measures its lag under P2's load.
pub fn p12(bench: &Bench, database: Option<&str>) -> Row {
    let s = &bench.settings;
    let mut row = Row::new(
        "P12",
        format!(
            "a server-side reaction that does nothing, catching up on {} stored events \
             (SQLite); its lag under P2's load ({} clients, 1 command each)",
            thousands(s.log_events as f64),
            s.clients
        ),
        "≥ 500,000 events/s; lag p99 ≤ 100 ms",
    );
    if !bench.reaction_bin.is_file() {
        row.ours = Ours::Failed(format!(
            "no annals-bench-reaction at {} (build annals-bench with --release)",
            bench.reaction_bin.display()
        ));
        return row;
    }
    let Some(database) = database else {
        row.ours = Ours::Failed("it needs the log database P1 makes, and P1 failed".to_owned());
        return row;
    };
    let outcome = (|| {
        let mut rates = Vec::new();
        for run in 1..=s.runs {
            let (events, seconds) = step(&format!("P12: catch up on the log, run {run}"), || {
                catch_up(bench, database)
            })?;
            if events < s.log_events {
                return Err(format!("caught up on {events} events, fewer than the log's"));
            }
            rates.push(events as f64 / seconds);
        }
        let lag = step("P12: the reaction's lag under P2's load", || lag(bench))?;
        let rate = median(&rates);
        let (p50, p99) = (median(&lag.p50s), median(&lag.p99s));
        let figure = format!("{} events/s; lag p50 {}, p99 {}", thousands(rate), ms(p50), ms(p99));
        row.measured(figure, rate, RATE_GOAL, false);
        let mut missed = Vec::new();
        if rate < RATE_GOAL {
            missed.push(format!("rate {:.0}% short", (1.0 - rate / RATE_GOAL) * 100.0));
        }
        if p99 > LAG_GOAL {
            missed.push(format!("lag p99 {:.0}% over", (p99 / LAG_GOAL - 1.0) * 100.0));
        }
        row.judge(missed);
        row.note(format!(
            "Catch-up: each run is a process of its own (`annals-bench-reaction catch-up`) that \
             opens the P1 database, sets the reaction's checkpoint to 0, starts it \
             (`Reactions::start`) and is timed from there until the checkpoint stored in the \
             database is at the head: every event read, decoded and handed to a handler that \
             returns no commands; runs: {} events/s.",
            rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", ")
        ));
        row.note(format!(
            "Lag: P2's load ({} clients, runs of {} s after a warm-up) pushed to the example \
             server with the no-op reaction added, on a fresh SQLite file. For each accepted \
             command, the lag is the wall-clock time at which the reaction's handler ran minus \
             the time at which the client had read the push's answer (the event was committed \
             by then); it is negative when the handler ran before the client read the answer \
             ({:.0}% of {} events). Per-run p50/p99: {}. Measured instead from just before \
             each request was written (an upper bound, which includes the commit's own \
             latency): p50 {}, p99 {}.",
            bench.settings.clients,
            bench.settings.seconds,
            lag.before_answer * 100.0,
            thousands(lag.events as f64),
            lag.p50s
                .iter()
                .zip(&lag.p99s)
                .map(|(p50, p99)| format!("{}/{}", ms(*p50), ms(*p99)))
                .collect::<Vec<_>>()
                .join(", "),
            ms(median(&lag.sent_p50s)),
            ms(median(&lag.sent_p99s)),
        ));
        row.note(format!(
            "The appends during those runs, with the reaction running: {} events/s, request \
             p50 {}, p99 {} (P2 measures the same load on the server without the no-op reaction).",
            thousands(lag.appends.rate()),
            ms(median(&lag.appends.p50s)),
            ms(median(&lag.appends.p99s)),
        ));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// One timed catch-up: the events it handled and the seconds it took.
fn catch_up(bench: &Bench, database: &str) -> Result<(u64, f64), String> {
    let output = Command::new(&bench.reaction_bin)
        .args(["catch-up", database])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bench.reaction_bin.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "annals-bench-reaction catch-up failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // `caught up on N events in S s`
    let words: Vec<&str> = printed.split_whitespace().collect();
    match words.as_slice() {
        ["caught", "up", "on", events, "events", "in", seconds, "s"] => Ok((
            events.parse().map_err(|_| format!("not a count: {printed}"))?,
            seconds.parse().map_err(|_| format!("not seconds: {printed}"))?,
        )),
        _ => Err(format!("unexpected output: {printed}")),
    }
}

/// What the lag measure gave.
struct Lag {
    /// The appends' figures during the runs.
    appends: Appends,
    /// Per run, the lag percentiles from the push's answer, ms.
    p50s: Vec<f64>,
    p99s: Vec<f64>,
    /// The same from just before the request was written.
    sent_p50s: Vec<f64>,
    sent_p99s: Vec<f64>,
    /// The share of events handled before their push's answer was read.
    before_answer: f64,
    /// Events measured.
    events: usize,
}

/// P2's runs on a server with the reaction, then each accepted event's lag.
fn lag(bench: &Bench) -> Result<Lag, String> {
    let database = server::sqlite(&bench.work, "p12");
    let handled_file = bench.work.join("p12-handled.txt");
    let env = [("ANNALS_BENCH_HANDLED", handled_file.as_path())];
    let server = Server::start_with_env(&bench.reaction_bin, &database, &bench.work, &[], &env)?;
    let (appends, runs) = appends::single_command_runs(bench, &server, true)?;
    let head = caught_up(&server, Duration::from_secs(120))?;
    let handled = read_handled(&handled_file, head, Duration::from_secs(30))?;
    drop(server);
    let mut lag = Lag {
        appends,
        p50s: Vec::new(),
        p99s: Vec::new(),
        sent_p50s: Vec::new(),
        sent_p99s: Vec::new(),
        before_answer: 0.0,
        events: 0,
    };
    let mut before = 0;
    for acks in &runs {
        let (mut answered, mut sent) = (Vec::new(), Vec::new());
        for Ack { position, sent: sent_at, answered: answered_at } in acks {
            let at = *handled
                .get(position)
                .ok_or_else(|| format!("the reaction never handled position {position}"))?;
            answered.push(signed(at) - signed(*answered_at));
            sent.push(signed(at) - signed(*sent_at));
        }
        before += answered.iter().filter(|lag| **lag < 0).count();
        lag.events += answered.len();
        lag.p50s.push(percentile_ms_signed(&mut answered, 50.0));
        lag.p99s.push(percentile_ms_signed(&mut answered, 99.0));
        lag.sent_p50s.push(percentile_ms_signed(&mut sent, 50.0));
        lag.sent_p99s.push(percentile_ms_signed(&mut sent, 99.0));
    }
    lag.before_answer = before as f64 / lag.events.max(1) as f64;
    Ok(lag)
}

fn signed(micros: u64) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
}

/// Waits until `GET /v1/reactions` shows the reaction at the head; returns the head.
fn caught_up(server: &Server, limit: Duration) -> Result<u64, String> {
    let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        let list = client.get("/v1/reactions").and_then(|r| r.json()).map_err(|e| e.to_string())?;
        let head = list["head"].as_u64().ok_or("GET /v1/reactions has no head")?;
        let ours = list["reactions"].as_array().and_then(|all| {
            all.iter().find(|r| r["name"] == NAME).and_then(|r| r["position"].as_u64())
        });
        match ours {
            Some(position) if position >= head => return Ok(head),
            _ if started.elapsed() > limit => {
                return Err(format!(
                    "the reaction was not at the head {head} after {limit:?}: {}",
                    server.log_tail()
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The handling time of each position the reaction noted, once `1..=head` are all there
/// (the first time, if an event was delivered again).
fn read_handled(file: &Path, head: u64, limit: Duration) -> Result<HashMap<u64, u64>, String> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut handled = HashMap::new();
        for line in text.lines() {
            let mut numbers = line.split(' ').map(str::parse::<u64>);
            if let (Some(Ok(position)), Some(Ok(micros))) = (numbers.next(), numbers.next()) {
                handled.entry(position).or_insert(micros);
            }
        }
        if (1..=head).all(|position| handled.contains_key(&position)) {
            return Ok(handled);
        }
        if started.elapsed() > limit {
            return Err(format!(
                "{} holds {} of the {head} positions after {limit:?}",
                file.display(),
                handled.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
