//! `annals-soak`: a long run of mixed load and faults against `annals-server`, on SQLite and
//! on PostgreSQL side by side, ended by an audit of what survived. `cargo xtask soak
//! --minutes N` builds the server and runs this.
//!
//! The load: clients pushing batches of inventory commands, each sent until it is answered
//! (to any node, after a 503 or a lost connection) and one in ten sent again after its
//! answer; raw appends sent the same way; subscribers joining at random positions, following
//! the log across server deaths, and dropping. The faults, one every few seconds in turn:
//! `kill -9` of a server (started again after a moment), and on PostgreSQL (two nodes on a
//! private cluster) restarts in fast and immediate mode, an outage of 5 to 15 seconds and
//! terminated backends.
//!
//! The audit: positions gap-free; every acknowledged command's events present exactly once,
//! where and as its answer said, and nothing else; every acknowledged raw event likewise;
//! every subscriber given the log in order, none missed or repeated, and those still there at
//! the end given all of it; every node's read models equal, and equal to what
//! `annals-server rebuild` makes from the log.

mod audit;
mod load;
mod nodes;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use annals_core::Uuid;
use annals_server::testing::Cluster;

use audit::Findings;
use load::Load;
use nodes::{Fault, Nodes};

const USAGE: &str = "\
usage: annals-soak --server PATH [--minutes N] [--backend sqlite|postgres|both]
                   [--fault-every SECONDS] [--record FILE]

  --server PATH          the annals-server binary (examples/server), hosting the inventory
  --minutes N            how long the load runs on each backend, side by side (default 2)
  --backend B            sqlite, postgres or both (default both)
  --fault-every SECONDS  the mean time between faults (default 20)
  --record FILE          write the audit as the section `## Soak` of FILE (a Markdown file
                         such as bench/RESULTS.md), replacing that section if it is there
";

/// What the soak is asked.
struct Options {
    server: PathBuf,
    run_for: Duration,
    postgres: bool,
    sqlite: bool,
    fault_every: Duration,
    record: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        server: PathBuf::new(),
        run_for: Duration::from_secs(120),
        postgres: true,
        sqlite: true,
        fault_every: Duration::from_secs(20),
        record: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let seconds = |text: String, unit: f64| {
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .map(|n| Duration::from_secs_f64(n * unit))
                .ok_or(format!("{arg} takes a positive number, not {text:?}"))
        };
        match arg.as_str() {
            "--server" => options.server = PathBuf::from(value()?),
            "--minutes" => options.run_for = seconds(value()?, 60.0)?,
            "--fault-every" => options.fault_every = seconds(value()?, 1.0)?,
            "--record" => options.record = Some(PathBuf::from(value()?)),
            "--backend" => match value()?.as_str() {
                "sqlite" => options.postgres = false,
                "postgres" => options.sqlite = false,
                "both" => {}
                other => return Err(format!("no backend {other:?}: sqlite, postgres or both")),
            },
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !options.server.is_file() {
        return Err(format!("no server binary at {:?} (--server)", options.server));
    }
    Ok(options)
}

/// A small random number generator (xorshift), seeded at random.
struct Rng(u64);

impl Rng {
    /// A generator with a random seed.
    fn new() -> Rng {
        Rng(Uuid::new_v4().as_u64_pair().0 | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What one backend's soak came to.
struct Outcome {
    backend: &'static str,
    nodes: usize,
    ran: Duration,
    faults: Vec<(Fault, usize)>,
    commands: (usize, usize),
    raw: usize,
    counts: [u64; 4],
    failures: Vec<String>,
    findings: Findings,
    logs: PathBuf,
}

impl Outcome {
    fn passed(&self) -> bool {
        self.failures.is_empty() && self.findings.checks.iter().all(|c| c.wrong.is_empty())
    }

    fn markdown(&self, out: &mut String) {
        let (accepted, rejected) = self.commands;
        let [unavailable, cut, resent, resubscribed] = self.counts;
        let faults: Vec<String> =
            self.faults.iter().map(|(fault, n)| format!("{n} × {}", fault.name())).collect();
        let _ = writeln!(
            out,
            "**{}** ({} node{}, {}): {} — {} events in the log; {accepted} commands accepted and \
             {rejected} refused by the rules, {} raw events; faults: {}; {unavailable} requests \
             answered 503 and sent again, {cut} cut off and sent again, {resent} answered \
             batches sent again, {resubscribed} subscriptions resumed after their server went \
             away.\n",
            self.backend,
            self.nodes,
            if self.nodes == 1 { "" } else { "s" },
            minutes(self.ran),
            if self.passed() { "passed" } else { "FAILED" },
            self.findings.events,
            self.raw,
            if faults.is_empty() { "none".to_owned() } else { faults.join(", ") },
        );
        for check in &self.findings.checks {
            let mark = if check.wrong.is_empty() { "holds" } else { "FAILS" };
            let _ = writeln!(out, "- {}: {mark}", check.what);
            for wrong in &check.wrong {
                let _ = writeln!(out, "  - {wrong}");
            }
        }
        for failure in &self.failures {
            let _ = writeln!(out, "- during the run: {failure}");
        }
        out.push('\n');
    }
}

fn minutes(took: Duration) -> String {
    let seconds = took.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Runs the load and the faults on one backend for the soak's time, then the audit.
async fn soak(backend: &'static str, options: &Options) -> Outcome {
    let logs = std::env::temp_dir().join(format!("annals-soak-{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).expect("a folder for the soak's logs");
    // PostgreSQL on a private cluster, which the faults may restart; two nodes share it.
    let cluster = if backend == "PostgreSQL" { Some(Cluster::start().await) } else { None };
    let postgres = match &cluster {
        Some(cluster) => Some(cluster.database().await),
        None => None,
    };
    let database = postgres.as_ref().map_or_else(
        || format!("sqlite://{}", logs.join("soak.db").display()),
        |database| database.url.clone(),
    );
    let count = if cluster.is_some() { 2 } else { 1 };
    let cluster = cluster.as_ref();
    println!("soak {backend}: {count} node(s) on {database}, logs in {}", logs.display());
    let load = Arc::new(Load::new(Nodes::start(&options.server, &database, count, &logs).await));
    let mut failures = Vec::new();
    if let Err(err) = load.setup(16).await {
        failures.push(err);
    }

    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let load = load.clone();
        clients.spawn(async move { load.pusher().await });
    }
    {
        let load = load.clone();
        clients.spawn(async move { load.appender().await });
    }
    let subscribers = tokio::spawn(load.clone().subscribers(3));

    let rotation = Fault::rotation(cluster.is_some());
    let mut done: Vec<(Fault, usize)> = Vec::new();
    let mut rng = Rng::new();
    let mut next_fault = Instant::now() + between(options.fault_every, &mut rng);
    let mut next_report = Instant::now() + Duration::from_secs(30);
    let mut turn = 0;
    while started.elapsed() < options.run_for {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if Instant::now() >= next_fault {
            let fault = rotation[turn % rotation.len()];
            turn += 1;
            let did = fault.apply(&load.nodes, cluster, &mut rng).await;
            println!("soak {backend} {}: {did}", minutes(started.elapsed()));
            match done.iter_mut().find(|(f, _)| *f == fault) {
                Some((_, n)) => *n += 1,
                None => done.push((fault, 1)),
            }
            next_fault = Instant::now() + between(options.fault_every, &mut rng);
        }
        if Instant::now() >= next_report {
            println!(
                "soak {backend} {} of {}: {} commands answered, {} raw events, {} items, {} \
                 subscribers done, {} faults",
                minutes(started.elapsed()),
                minutes(options.run_for),
                load.ledger.commands.lock().expect("commands").len(),
                load.ledger.raw.lock().expect("raw events").len(),
                load.items(),
                load.ledger.sessions.lock().expect("sessions").len(),
                turn
            );
            next_report = Instant::now() + Duration::from_secs(30);
        }
    }
    load.stop();
    for node in 0..load.nodes.len() {
        load.nodes.revive(node).await;
    }
    while let Some(ended) = clients.join_next().await {
        if let Err(err) = ended {
            failures.push(format!("a client panicked: {err}"));
        }
    }
    let ran = started.elapsed();
    // The server's reorder reaction issues commands of its own after the load's: the
    // subscribers stay until it has caught up, to the head after its last.
    let (caught_up, head) = audit::caught_up(&load).await;
    let head = head.max(load.ledger.highest.load(Ordering::Relaxed));
    load.finished_at(head);
    if let Err(err) = subscribers.await {
        failures.push(format!("the subscribers panicked: {err}"));
    }
    println!("soak {backend}: load stopped at position {head}; auditing");
    let findings = audit::audit(&load, caught_up).await;
    failures.extend(load.ledger.failures.lock().expect("failures").iter().cloned());

    let (accepted, rejected) = {
        let commands = load.ledger.commands.lock().expect("commands");
        let accepted = commands.values().filter(|answer| answer.accepted).count();
        (accepted, commands.len() - accepted)
    };
    let counts = &load.ledger.counts;
    let outcome = Outcome {
        backend,
        nodes: count,
        ran,
        faults: done,
        commands: (accepted, rejected),
        raw: load.ledger.raw.lock().expect("raw events").len(),
        counts: [
            counts.unavailable.load(Ordering::Relaxed),
            counts.cut.load(Ordering::Relaxed),
            counts.resent.load(Ordering::Relaxed),
            counts.resubscribed.load(Ordering::Relaxed),
        ],
        failures,
        findings,
        logs,
    };
    load.nodes.kill_all().await;
    outcome
}

/// A time between half and one and a half `mean`.
fn between(mean: Duration, rng: &mut Rng) -> Duration {
    mean.mul_f64(0.5 + rng.below(1000) as f64 / 1000.0)
}

/// Writes `section` as the section `## Soak` of the Markdown file `path`, replacing the one
/// there (which runs to the next `## ` heading or the end).
fn record(path: &Path, section: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (before, after) = match text.find("\n## Soak\n") {
        Some(start) => {
            let rest = &text[start + 1..];
            let end = rest[3..].find("\n## ").map_or(text.len(), |n| start + 1 + 3 + n + 1);
            (&text[..start + 1], &text[end..])
        }
        None => (text.as_str(), ""),
    };
    let joined = if before.is_empty() || before.ends_with("\n\n") { "" } else { "\n" };
    let written = format!("{before}{joined}{section}{after}");
    std::fs::write(path, written).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            if !err.is_empty() {
                eprintln!("error: {err}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let outcomes: Vec<Outcome> = runtime.block_on(async {
        let sqlite =
            async { if options.sqlite { Some(soak("SQLite", &options).await) } else { None } };
        let postgres = async {
            if options.postgres { Some(soak("PostgreSQL", &options).await) } else { None }
        };
        let (sqlite, postgres) = tokio::join!(sqlite, postgres);
        sqlite.into_iter().chain(postgres).collect()
    });

    let mut section = format!(
        "## Soak\n\n`cargo xtask soak --minutes {}`: mixed load (pushes sent until answered and \
         some sent again, raw appends, subscribers joining at random positions and dropping) \
         with a fault every {} s or so, then an audit.\n\n",
        options.run_for.as_secs_f64() / 60.0,
        options.fault_every.as_secs()
    );
    for outcome in &outcomes {
        outcome.markdown(&mut section);
    }
    println!("\n{section}");
    let passed = outcomes.iter().all(Outcome::passed);
    for outcome in &outcomes {
        if outcome.passed() {
            let _ = std::fs::remove_dir_all(&outcome.logs);
        } else {
            println!("the servers' logs of {} are in {}", outcome.backend, outcome.logs.display());
        }
    }
    if let Some(path) = &options.record {
        if let Err(err) = record(path, &section) {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
        println!("wrote the audit into {}", path.display());
    }
    if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
