//! Rows of results, and the Markdown file they make: one row per goal, with the machine and
//! the command that produced it.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Bench;

/// What annals scored on one measure.
pub enum Ours {
    /// A figure, its value for ratios, and whether the goal was met.
    Measured {
        /// The figure for people, e.g. `812,345 events/s`.
        figure: String,
        /// The number peers are compared with (a rate, or a time for P6).
        value: f64,
        /// Whether the goal was met, and by how much it was missed.
        verdict: Verdict,
    },
    /// Not measured, and why (something it needs is absent).
    NotMeasured(String),
    /// The measure broke.
    Failed(String),
}

/// A goal met, or missed by some amount.
pub enum Verdict {
    /// Met.
    Met,
    /// Missed, with how far off it is.
    Missed(String),
}

/// A peer doing the same job.
pub struct Peer {
    /// Who, on what (e.g. `Emmett · SQLite`).
    pub name: String,
    /// Its figure.
    pub figure: String,
    /// annals relative to it, e.g. `annals 3.2×`.
    pub ratio: String,
}

/// One goal's row.
pub struct Row {
    /// P1..P12.
    pub id: &'static str,
    /// What was measured, at what size.
    pub measure: String,
    /// The goal.
    pub goal: &'static str,
    /// annals' result.
    pub ours: Ours,
    /// Peers doing the same job.
    pub peers: Vec<Peer>,
    /// Details worth knowing.
    pub notes: Vec<String>,
}

impl Row {
    /// A row not measured yet.
    pub fn new(id: &'static str, measure: impl Into<String>, goal: &'static str) -> Row {
        Row {
            id,
            measure: measure.into(),
            goal,
            ours: Ours::NotMeasured("not run".to_owned()),
            peers: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records a figure: `value` against a goal of at least `goal` (or at most, for times and
    /// sizes when `lower_is_better`).
    pub fn measured(&mut self, figure: String, value: f64, goal: f64, lower_is_better: bool) {
        let met = if lower_is_better { value <= goal } else { value >= goal };
        let verdict = if met {
            Verdict::Met
        } else if lower_is_better {
            Verdict::Missed(format!("{:.0}% over", (value / goal - 1.0) * 100.0))
        } else {
            Verdict::Missed(format!("{:.0}% short", (1.0 - value / goal) * 100.0))
        };
        self.ours = Ours::Measured { figure, value, verdict };
    }

    /// Judges a figure against a goal of several parts: `missed` names each part missed (such
    /// as `p99 12% over`); none means the goal was met.
    pub fn judge(&mut self, missed: Vec<String>) {
        if let Ours::Measured { verdict, .. } = &mut self.ours {
            *verdict =
                if missed.is_empty() { Verdict::Met } else { Verdict::Missed(missed.join(", ")) };
        }
    }

    /// Whether the measure broke.
    pub fn failed(&self) -> bool {
        matches!(self.ours, Ours::Failed(_))
    }

    /// The measured value, if any.
    pub fn value(&self) -> Option<f64> {
        match self.ours {
            Ours::Measured { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Turns an error into a failed row.
    pub fn or_fail(mut self, outcome: Result<(), String>) -> Row {
        if let Err(message) = outcome {
            println!("    {} failed: {message}", self.id);
            self.ours = Ours::Failed(message);
        }
        self
    }
}

/// The one-screen summary printed at the end.
pub fn summary(rows: &[Row]) -> String {
    let mut out = String::from("id   annals                          goal\n");
    for row in rows {
        let ours = match &row.ours {
            Ours::Measured { figure, verdict: Verdict::Met, .. } => format!("{figure} (met)"),
            Ours::Measured { figure, verdict: Verdict::Missed(by), .. } => {
                format!("{figure} ({by})")
            }
            Ours::NotMeasured(why) => format!("not measured: {why}"),
            Ours::Failed(why) => format!("FAILED: {why}"),
        };
        out.push_str(&format!("{:<4} {:<31} {}\n", row.id, ours, row.goal));
        for peer in &row.peers {
            out.push_str(&format!("       {}: {} ({})\n", peer.name, peer.figure, peer.ratio));
        }
    }
    out
}

/// The Markdown report.
pub fn markdown(
    bench: &Bench,
    rows: &[Row],
    command: &str,
    took: Duration,
    load: (String, String),
) -> String {
    let s = &bench.settings;
    let mut out = String::new();
    out.push_str(if s.quick { "# Benchmarks (quick run)\n\n" } else { "# Benchmarks\n\n" });
    out.push_str(&format!(
        "Written by `{command}` on {} in {}. Every figure below, annals' and the peers', \
         comes from that one run on this machine, with the same databases and the same \
         inventory data; each is the median of {} runs.\n\n",
        today(),
        duration(took),
        s.runs
    ));
    if s.quick {
        out.push_str(
            "A quick run measures everything at a small size to show the benchmarks still \
             work; its figures are not the goals' sizes. `cargo xtask bench` writes \
             `bench/RESULTS.md` at full size.\n\n",
        );
    }
    out.push_str(&format!(
        "**Machine:** {}. Load average (1 min) at the start of the run {}, at its end {}: the \
         machine's cores are not reserved for the run.\n\n",
        machine(),
        load.0,
        load.1
    ));
    out.push_str("| id | measure | goal | annals | goal met | peers doing the same job (annals relative to each) |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for row in rows {
        let (ours, met) = match &row.ours {
            Ours::Measured { figure, verdict: Verdict::Met, .. } => {
                (figure.clone(), "yes".to_owned())
            }
            Ours::Measured { figure, verdict: Verdict::Missed(by), .. } => {
                (figure.clone(), format!("no, {by}"))
            }
            Ours::NotMeasured(why) => (format!("not measured: {why}"), "—".to_owned()),
            Ours::Failed(why) => (format!("failed: {}", why.replace('|', "/")), "—".to_owned()),
        };
        let peers = if row.peers.is_empty() {
            "—".to_owned()
        } else {
            let list: Vec<String> = row
                .peers
                .iter()
                .map(|p| format!("{}: {} ({})", p.name, p.figure, p.ratio))
                .collect();
            list.join("<br>")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.id, row.measure, row.goal, ours, met, peers
        ));
    }
    out.push_str("\n## Notes\n\n");
    for row in rows.iter().filter(|r| !r.notes.is_empty()) {
        out.push_str(&format!("**{}**\n", row.id));
        for note in &row.notes {
            out.push_str(&format!("- {note}\n"));
        }
        out.push('\n');
    }
    out.push_str(METHOD);
    out
}

const METHOD: &str = "## How the figures are taken

- The server is the release `annals-server serve`, a process of its own on a free loopback
  port, local mode, inventory domain, a fresh database per measure (a SQLite file, or a
  PostgreSQL database created for the measure and dropped after it), started with
  `--max-subscriptions 100000` since local mode counts every subscriber under one subject,
  and `--no-reactions` (the example server's reorder reaction does not run: but for P12, the
  goals measure the engine).
- The load comes from `annals-bench`, another process: HTTP/1.1 over keep-alive TCP
  connections with `TCP_NODELAY`, one thread per connection. It shares the machine's cores
  with the server, as a client on the same host would.
- P1 stores the generated log through the server as the commands that make it, then times
  the whole `annals-server rebuild` process (start, fold of every event into every view, writing the
  views back).
- P2/P3: 64 connections, each sending one command per request (`ReceiveStock`, `ReceiveStock`,
  `ConsumeStock` in turn on 16 items it owns, so none is refused) for a fixed time after a
  warm-up; events/s counts accepted events, latency is per request.
- P4: 4 connections, each sending requests of 1,000 such commands.
- P5: one client reads the whole log with `GET /v1/events?after=P&limit=10000` until it has
  every event; it takes the next `after` from the page without decoding every envelope.
- P9: 100 subscribers on `GET /v1/subscribe` (each its own connection and thread), one client
  sending one command at a time with a short pause; latency is from just before the request
  is written to the moment each subscriber has read the event.
- P10: peak resident memory (`VmHWM` in `/proc/<pid>/status`) of a server started on the
  database holding the P1 log, after the subscribers have connected and each has received a
  burst of commands.
- P11 times the whole `annals-server import` process of the generated log's NDJSON export
  into a fresh SQLite file, at two sizes (the second four times the first).
- P12 runs a reaction whose handler does nothing (`Reaction::sync` answering no commands) in
  `annals-bench-reaction`, the example server built with that one more reaction. Catch-up:
  a process of its own opens the P1 database and times the reaction from its start at
  position 0 until its checkpoint in the database is at the head. Lag: P2's load on that
  server (a fresh SQLite file); the handler notes the wall-clock time of each event it gets,
  and each event's lag is that time minus the time its push's answer was read by the client.
- P6/P7/P8 use the npm package in `examples/inventory-wasm/pkg` (packed by `cargo xtask
  wasm`), in Node and in headless Chromium (`playwright-core` driving `/usr/bin/chromium`).
- Peers: Emmett with `@event-driven-io/emmett-sqlite` and `-postgresql`, cqrs-es with
  `sqlite-es` and `postgres-es`, each in its own process, doing the same commands through
  its own command handling (`CommandHandler`, `CqrsFramework::execute`) with 64 concurrent
  writers, and reading the same log back whole (`readMessagesBatch`, `QueryReplay`) into a
  stock view. They run in-process against the database, with no HTTP in between.
- Settings that differ: annals' SQLite commits with `synchronous=FULL`; sqlite-es's default
  pool uses `synchronous=NORMAL` (a commit may be lost on power failure), and Emmett's SQLite
  store leaves SQLite's default. Emmett's SQLite store opens a connection per operation for a
  file, which fails concurrent writers with `SQLITE_BUSY` (it sets no busy timeout), so its
  writers share one connection (`connectionOptions: {singleton: true}`); concurrent commands
  then commit together. cqrs-es loads each aggregate from its events on every command (its
  default store, no snapshots); Emmett's `CommandHandler` reads the stream likewise.
";

/// The machine: CPU model and cores, memory, kernel, and the runtimes involved.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let version = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "absent".to_owned())
    };
    format!(
        "{model}, {cores} cores, {:.1} GiB memory (from /proc), Linux {}; {}; Node {}; {}",
        memory_kib / 1024.0 / 1024.0,
        kernel.trim(),
        version("rustc", &["--version"]),
        version("node", &["--version"]),
        version("psql", &["--version"]),
    )
}

/// The 1-minute load average, from /proc.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("unknown").to_owned()
}

/// A duration for people.
pub fn duration(took: Duration) -> String {
    let seconds = took.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        format!("{}m {:02}s", took.as_secs() / 60, took.as_secs() % 60)
    }
}

/// Today's date, `YYYY-MM-DD` (UTC).
fn today() -> String {
    let days = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
