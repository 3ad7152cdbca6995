//! `annals-bench`: the speed and size goals of SPEC section 9 (P1-P10), measured side by side
//! with peers doing the same jobs in the same run, on the same machine, databases and data;
//! P11, whether `annals-server import` keeps its speed as the log grows; and P12, a reaction
//! in the server that does nothing (`annals-bench-reaction`, this package's other binary).
//! `cargo xtask bench [--quick]` builds everything in release and runs this.
//!
//! The server runs as its own process (`annals-server serve` on a free loopback port and a
//! fresh database) and is driven over HTTP from this one; the package is measured through
//! Node and headless Chromium; the peers run as their own processes too. Every figure is the
//! median of several runs. Nothing here asserts a timing: a goal missed is reported, not failed.

mod appends;
mod catchup;
mod fanout;
mod http;
mod import;
mod memory;
mod package;
mod peers;
mod reaction;
mod rebuild;
mod report;
mod server;
mod stats;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use report::Row;

/// How big each measure is.
pub struct Settings {
    /// A small run of every measure, for CI.
    pub quick: bool,
    /// Events stored for P1, P5, P10 and P12, and read back by the peers.
    pub log_events: u64,
    /// Runs per measure; the median is reported.
    pub runs: usize,
    /// Seconds per run of the append measures, and of their warm-up.
    pub seconds: f64,
    /// Seconds of warm-up before append runs.
    pub warmup: f64,
    /// Concurrent clients for P2 and P3 (and the peers' writers).
    pub clients: usize,
    /// Items each of those clients owns.
    pub items_per_client: u64,
    /// Concurrent clients for P4.
    pub batch_clients: usize,
    /// Requests of 1,000 commands each P4 client sends per run.
    pub batches: usize,
    /// Subscribers for P9.
    pub p9_subscribers: usize,
    /// Commands per P9 run.
    pub p9_commands: usize,
    /// Subscribers for P10.
    pub p10_subscribers: usize,
    /// Events fed to the package's views for P6.
    pub package_events: u64,
    /// Pending commands in the browser's stored replica for P7.
    pub pending: usize,
    /// Events of the shorter log P11 imports (the longer one has four times as many).
    pub import_events: u64,
}

impl Settings {
    fn full() -> Settings {
        Settings {
            quick: false,
            log_events: 1_000_000,
            runs: 5,
            seconds: 5.0,
            warmup: 1.0,
            clients: 64,
            items_per_client: 16,
            batch_clients: 4,
            batches: 50,
            p9_subscribers: 100,
            p9_commands: 200,
            p10_subscribers: 1000,
            package_events: 100_000,
            pending: 1000,
            import_events: 250_000,
        }
    }

    fn quick() -> Settings {
        Settings {
            quick: true,
            log_events: 50_000,
            runs: 3,
            seconds: 1.0,
            warmup: 0.3,
            clients: 64,
            items_per_client: 16,
            batch_clients: 4,
            batches: 5,
            p9_subscribers: 100,
            p9_commands: 20,
            p10_subscribers: 100,
            package_events: 20_000,
            pending: 1000,
            import_events: 20_000,
        }
    }
}

/// What every measure shares.
pub struct Bench {
    /// Sizes.
    pub settings: Settings,
    /// The workspace root (for the inventory package, bench/package and bench/peers).
    pub root: PathBuf,
    /// A scratch folder for databases, logs and the generated events.
    pub work: PathBuf,
    /// The release `annals-server`.
    pub server_bin: PathBuf,
    /// The release `annals-bench-cqrs`, if it was built.
    pub cqrs_bin: PathBuf,
    /// The release `annals-bench-reaction`: the server with a reaction that does nothing (P12).
    pub reaction_bin: PathBuf,
    /// The generated log of `settings.log_events` events, as NDJSON envelopes.
    pub log: PathBuf,
}

const USAGE: &str = "usage: annals-bench [--quick] [--out FILE] [--only P1,P2,...] [--command TEXT]
                    [--server-bin PATH] [--cqrs-bin PATH] [--reaction-bin PATH]
                    [--work DIR] [--keep-work]";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("annals-bench: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the measures; `Ok(false)` when one of them failed.
fn run() -> Result<bool, String> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf();
    let here = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = here.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut settings = Settings::full();
    let mut out = None;
    let mut only: Option<Vec<String>> = None;
    let mut command = None;
    let mut server_bin = bin_dir.join("annals-server");
    let mut cqrs_bin = bin_dir.join("annals-bench-cqrs");
    let mut reaction_bin = bin_dir.join("annals-bench-reaction");
    let mut work = root.join("target").join("bench-work");
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => settings = Settings::quick(),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--only" => only = Some(value()?.split(',').map(|s| s.trim().to_uppercase()).collect()),
            "--command" => command = Some(value()?),
            "--server-bin" => server_bin = PathBuf::from(value()?),
            "--cqrs-bin" => cqrs_bin = PathBuf::from(value()?),
            "--reaction-bin" => reaction_bin = PathBuf::from(value()?),
            "--work" => work = PathBuf::from(value()?),
            "--keep-work" => keep = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !server_bin.is_file() {
        return Err(format!(
            "no annals-server at {} (build it with --release)",
            server_bin.display()
        ));
    }
    let quick = settings.quick;
    let out = out.unwrap_or_else(|| {
        root.join("bench").join(if quick { "RESULTS.quick.md" } else { "RESULTS.md" })
    });
    let command = command
        .unwrap_or_else(|| format!("cargo xtask bench{}", if quick { " --quick" } else { "" }));
    // A folder of this run's own, so runs at the same time (a CI check beside a full run)
    // never remove each other's databases.
    let work = work.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let log = work.join("log.ndjson");
    let bench = Bench { settings, root, work, server_bin, cqrs_bin, reaction_bin, log };

    let started = Instant::now();
    let load_at_start = report::load_average();
    let wanted = |id: &str| only.as_ref().is_none_or(|only| only.iter().any(|o| o == id));
    let needs_log = ["P1", "P5", "P6", "P10"].iter().any(|id| wanted(id));
    if needs_log {
        // P6 reads a prefix of it, so it holds at least as many events as P6 needs.
        let count = bench.settings.log_events.max(bench.settings.package_events);
        step(&format!("generating a log of {count} inventory events"), || {
            workload::write_log(&bench.log, count).map_err(|e| e.to_string())
        })?;
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut log_database = None;
    if wanted("P1") {
        let (row, database) = rebuild::p1(&bench);
        log_database = database;
        rows.push(row);
    } else if wanted("P5") || wanted("P10") || wanted("P12") {
        // The log stored as P1 stores it, without P1's rebuilds.
        log_database = rebuild::stored_log(&bench);
    }
    if wanted("P2") {
        rows.push(appends::p2(&bench));
    }
    if wanted("P3") {
        rows.push(appends::p3(&bench));
    }
    if wanted("P4") {
        rows.push(appends::p4(&bench));
    }
    if wanted("P5") {
        rows.push(catchup::p5(&bench, log_database.as_deref()));
    }
    let package = package::Package::find(&bench);
    if wanted("P6") {
        rows.push(package.p6(&bench));
    }
    if wanted("P7") {
        rows.push(package.p7(&bench));
    }
    if wanted("P8") {
        rows.push(package.p8(&bench));
    }
    if wanted("P9") {
        rows.push(fanout::p9(&bench));
    }
    if wanted("P10") {
        rows.push(memory::p10(&bench, log_database.as_deref()));
    }
    if wanted("P11") {
        rows.push(import::p11(&bench));
    }
    if wanted("P12") {
        rows.push(reaction::p12(&bench, log_database.as_deref()));
    }
    let mut peer_failures = Vec::new();
    if wanted("PEERS") || only.is_none() {
        peer_failures = peers::compare(&bench, &mut rows);
    }
    let took = started.elapsed();
    let failed = rows.iter().any(Row::failed) || !peer_failures.is_empty();
    let load = (load_at_start, report::load_average());
    let mut text = report::markdown(&bench, &rows, &command, took, load);
    // The soak's audit (`cargo xtask soak --record`) is kept from the file this replaces.
    if let Some(soak) = std::fs::read_to_string(&out).ok().as_deref().and_then(soak_section) {
        text.push('\n');
        text.push_str(soak);
    }
    std::fs::write(&out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("\n{}", report::summary(&rows));
    for failure in &peer_failures {
        println!("peer failed: {failure}");
    }
    println!("wrote {} ({})", out.display(), report::duration(took));
    // The databases and logs stay for a look after a failure, or when asked (to profile).
    if !failed && !keep {
        let _ = std::fs::remove_dir_all(&bench.work);
    }
    Ok(!failed)
}

/// Prints what is being done and how long it took.
pub fn step<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    println!("==> {what}");
    let started = Instant::now();
    let outcome = work();
    match &outcome {
        Ok(_) => println!("    done in {}", report::duration(started.elapsed())),
        Err(message) => println!("    failed: {message}"),
    }
    outcome
}

/// The section `## Soak` of a results file, up to the next section or the end.
fn soak_section(text: &str) -> Option<&str> {
    let start = text.find("\n## Soak\n")? + 1;
    let length = text[start + 3..].find("\n## ").map_or(text.len() - start, |n| n + 4);
    Some(&text[start..start + length])
}
