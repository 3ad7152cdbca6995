//! `annals-bench-reaction`: the server side of P12, a reaction that does nothing.
//!
//! - `annals-bench-reaction catch-up DATABASE_URL` opens the database (inventory domain), starts
//!   the reaction `bench-noop` over it from position 0 of every tenant, and prints how long its
//!   checkpoint took to reach each tenant's head: `caught up on N events in S s`.
//! - Any other command line is the example `annals-server` (the same commands and flags, the
//!   inventory's reorder reaction), serving with `bench-noop` as one more reaction. With
//!   `ANNALS_BENCH_HANDLED=FILE` the reaction appends `POSITION MICROS` to FILE for each event
//!   it handles, MICROS being the wall clock (microseconds since the Unix epoch) when the
//!   handler ran, so that `annals-bench` can compare it with when each push was answered.
//!
//! It is built through annals-server's library as any user's server is; the handler is a
//! `Reaction::sync` that answers no commands.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use annals_core::Position;
use annals_inventory::Inventory;
use annals_server::hosted::host;
use annals_server::reactions::{Consumer, Reaction, Reactions};
use annals_server::store::reactions as checkpoints;

/// The reaction's name, which keys its checkpoint.
const NAME: &str = "bench-noop";

/// How long a catch-up may take before it is given up as stuck.
const LIMIT: Duration = Duration::from_secs(600);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("catch-up") {
        let [url] = &args[2..] else {
            eprintln!("usage: annals-bench-reaction catch-up DATABASE_URL");
            return ExitCode::from(2);
        };
        return match catch_up(url) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("annals-bench-reaction: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let reaction = match std::env::var_os("ANNALS_BENCH_HANDLED") {
        Some(file) => match recording(&file) {
            Ok(reaction) => reaction,
            Err(message) => {
                eprintln!("annals-bench-reaction: {message}");
                return ExitCode::FAILURE;
            }
        },
        None => noop(),
    };
    annals_example_server::server().reaction(reaction).main()
}

/// The reaction that does nothing.
fn noop() -> Reaction<Inventory> {
    Reaction::sync(NAME, |_| Ok(Vec::new()))
}

/// The reaction that does nothing but note when it saw each event: it hands the position and
/// the time to a thread that appends them to `file`, flushing whenever it has no more.
fn recording(file: &std::ffi::OsStr) -> Result<Reaction<Inventory>, String> {
    let path = std::path::PathBuf::from(file);
    let out = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let (sender, receiver) = mpsc::channel::<(Position, u64)>();
    std::thread::spawn(move || {
        let mut out = BufWriter::new(out);
        while let Ok(first) = receiver.recv() {
            let mut next = Some(first);
            while let Some((position, micros)) = next {
                if writeln!(out, "{position} {micros}").is_err() {
                    return;
                }
                next = receiver.try_recv().ok();
            }
            if out.flush().is_err() {
                return;
            }
        }
    });
    Ok(Reaction::sync(NAME, move |delivery| {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let _ = sender.send((delivery.position, micros));
        Ok(Vec::new())
    }))
}

/// Starts the reaction over at 0 in every tenant of `url` and times it until its checkpoint
/// is at every tenant's head.
fn catch_up(url: &str) -> Result<String, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store = host::<Inventory>().open(url).await.map_err(|e| e.to_string())?;
        let sql = store.reactions();
        let mut heads = Vec::new();
        for tenant in store.tenants().await.map_err(|e| e.to_string())? {
            let head = store.events_after(&tenant, Position::MAX, 1).await;
            let head = head.map_err(|e| e.to_string())?.head;
            checkpoints::reset(sql, Some(&tenant), NAME, 0).await.map_err(|e| e.to_string())?;
            heads.push((tenant, head));
        }
        let events: u64 = heads.iter().map(|(_, head)| head).sum();
        let started = Instant::now();
        let reactions =
            Reactions::start(store.clone(), vec![Arc::new(noop()) as Arc<dyn Consumer>]);
        let stats = reactions.consumers().next().map(|(_, stats)| stats).ok_or("no reaction")?;
        // The handled count is read often and costs nothing; the checkpoint is read from the
        // database only once every event was handled.
        while stats.handled.load(std::sync::atomic::Ordering::Relaxed) < events {
            if started.elapsed() > LIMIT {
                return Err(format!("not caught up after {LIMIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        loop {
            let rows = checkpoints::consumers(sql).await.map_err(|e| e.to_string())?;
            let at_head = heads.iter().all(|(tenant, head)| {
                rows.iter().any(|r| {
                    r.name == NAME && r.tenant == *tenant && r.checkpoint.position >= *head
                })
            });
            if at_head {
                break;
            }
            if started.elapsed() > LIMIT {
                return Err(format!("the checkpoint did not reach the head after {LIMIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        drop(reactions);
        Ok(format!("caught up on {events} events in {seconds:.6} s"))
    })
}
