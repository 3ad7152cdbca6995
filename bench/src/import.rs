//! P11: `annals-server import` of a generated log and of one four times as long, timed as the
//! whole process: the import should cost the same per event however long the log already is.

use std::time::Instant;

use crate::rebuild::cli;
use crate::report::Row;
use crate::stats::{median, thousands};
use crate::{Bench, server, step, workload};

/// How much longer the second log is than the first.
const SCALE: u64 = 4;
/// The goal: `SCALE` times the events in at most this many times the time.
const MOST_TIME: f64 = 5.0;

/// Imports logs of `settings.import_events` and `SCALE` times as many events into fresh SQLite
/// files, and compares the times.
pub fn p11(bench: &Bench) -> Row {
    let small = bench.settings.import_events;
    let large = small * SCALE;
    let mut row = Row::new(
        "P11",
        format!(
            "`annals-server import` of {} and of {} events (SQLite)",
            thousands(small as f64),
            thousands(large as f64)
        ),
        "4× the events in ≤ 5× the time",
    );
    let outcome = (|| {
        let small_seconds = import(bench, small)?;
        let large_seconds = import(bench, large)?;
        let ratio = large_seconds / small_seconds;
        let rate = |events: u64, seconds: f64| thousands(events as f64 / seconds);
        row.measured(
            format!(
                "{small_seconds:.2} s and {large_seconds:.2} s ({} and {} events/s): {ratio:.2}× the time",
                rate(small, small_seconds),
                rate(large, large_seconds)
            ),
            ratio,
            MOST_TIME,
            true,
        );
        row.note(format!(
            "Each run is the whole `annals-server import` process into a fresh SQLite file: \
             read the NDJSON export of the generated log ({} events per item stream), append \
             its runs of one stream's events with their exact expected version; median of {} \
             runs per size.",
            workload::EVENTS_PER_ITEM,
            bench.settings.runs
        ));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// Writes the first `events` events of the generated log and imports them, each run into a
/// fresh database; returns the median seconds.
fn import(bench: &Bench, events: u64) -> Result<f64, String> {
    let log = bench.work.join(format!("import-{events}.ndjson"));
    step(&format!("P11: generate a log of {events} events"), || {
        workload::write_log(&log, events).map_err(|e| e.to_string())
    })?;
    let input = log.display().to_string();
    let mut times = Vec::new();
    for run in 1..=bench.settings.runs {
        let seconds = step(&format!("P11: import {events} events, run {run}"), || {
            let database = server::sqlite(&bench.work, &format!("import-{events}"));
            let started = Instant::now();
            let printed = cli(bench, &["import", "--database", &database, "--input", &input])?;
            let seconds = started.elapsed().as_secs_f64();
            if !printed.contains(&format!("imported {events} events")) {
                return Err(format!("the import did not append {events} events: {printed}"));
            }
            Ok(seconds)
        })?;
        times.push(seconds);
    }
    let _ = std::fs::remove_file(&log);
    Ok(median(&times))
}
