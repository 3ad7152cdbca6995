//! P2, P3 and P4: durable appends over HTTP. 64 clients sending one command per request
//! (SQLite, then PostgreSQL), and a few clients sending 1,000 commands per request.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::Client;
use crate::report::Row;
use crate::server::{self, PgDatabase, Server};
use crate::stats::{Latencies, median, ms, thousands};
use crate::workload::{add_item, push, writer_command};
use crate::{Bench, step};

/// What the runs of one append measure gave.
pub struct Appends {
    /// Accepted events per second, per run.
    pub rates: Vec<f64>,
    /// Request latency percentiles per run, in milliseconds.
    pub p50s: Vec<f64>,
    /// The 99th percentiles.
    pub p99s: Vec<f64>,
}

impl Appends {
    /// The median rate.
    pub fn rate(&self) -> f64 {
        median(&self.rates)
    }

    fn runs(&self) -> String {
        self.rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", ")
    }
}

/// P2: 64 clients, one command per request, SQLite.
pub fn p2(bench: &Bench) -> Row {
    let clients = bench.settings.clients;
    let mut row = Row::new(
        "P2",
        format!("durable appends over HTTP, {clients} concurrent clients, 1 command each, SQLite"),
        "≥ 20,000 events/s, p99 ≤ 20 ms",
    );
    let outcome = (|| {
        let database = server::sqlite(&bench.work, "p2");
        let result = step("P2: single commands on SQLite", || single_commands(bench, &database))?;
        let (rate, p99) = (result.rate(), median(&result.p99s));
        let figure = format!(
            "{} events/s, p50 {}, p99 {}",
            thousands(rate),
            ms(median(&result.p50s)),
            ms(p99)
        );
        // Both halves of the goal: the rate and the tail.
        row.measured(figure, rate, 20_000.0, false);
        let mut missed = Vec::new();
        if rate < 20_000.0 {
            missed.push(format!("rate {:.0}% short", (1.0 - rate / 20_000.0) * 100.0));
        }
        if p99 > 20.0 {
            missed.push(format!("p99 {:.0}% over", (p99 / 20.0 - 1.0) * 100.0));
        }
        row.judge(missed);
        row.note(format!("Runs of {} s each: {} events/s.", bench.settings.seconds, result.runs()));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// P3: the same on PostgreSQL.
pub fn p3(bench: &Bench) -> Row {
    let clients = bench.settings.clients;
    let mut row = Row::new(
        "P3",
        format!("the same as P2 on PostgreSQL ({clients} clients, 1 command each)"),
        "≥ 10,000 events/s",
    );
    let database = match PgDatabase::create("p3") {
        Ok(database) => database,
        Err(why) => {
            row.ours = crate::report::Ours::NotMeasured(why);
            return row;
        }
    };
    let outcome = (|| {
        let result =
            step("P3: single commands on PostgreSQL", || single_commands(bench, &database.url))?;
        let rate = result.rate();
        let figure = format!(
            "{} events/s, p50 {}, p99 {}",
            thousands(rate),
            ms(median(&result.p50s)),
            ms(median(&result.p99s))
        );
        row.measured(figure, rate, 10_000.0, false);
        row.note(format!("Runs of {} s each: {} events/s.", bench.settings.seconds, result.runs()));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// P4: requests of 1,000 commands, SQLite.
pub fn p4(bench: &Bench) -> Row {
    let s = &bench.settings;
    let mut row = Row::new(
        "P4",
        format!(
            "batched commands, 1,000 per request, {} concurrent clients, SQLite",
            s.batch_clients
        ),
        "≥ 200,000 events/s",
    );
    let outcome = (|| {
        let database = server::sqlite(&bench.work, "p4");
        let result = step("P4: batches of 1,000 commands on SQLite", || batches(bench, &database))?;
        let rate = result.rate();
        row.measured(format!("{} events/s", thousands(rate)), rate, 200_000.0, false);
        row.note(format!(
            "{} requests of 1,000 commands per client per run; request latency p50 {}, p99 {}; \
             runs: {} events/s.",
            s.batches,
            ms(median(&result.p50s)),
            ms(median(&result.p99s)),
            result.runs()
        ));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// Adds items `0..count` in requests of 1,000 commands.
pub fn add_items(addr: SocketAddr, count: u64) -> Result<(), String> {
    let mut client = Client::connect(addr).map_err(|e| e.to_string())?;
    let mut first = 0;
    while first < count {
        let last = (first + 1000).min(count);
        let commands: Vec<String> = (first..last).map(add_item).collect();
        let response =
            client.post("/v1/commands", push(&commands).as_bytes()).map_err(|e| e.to_string())?;
        let accepted = accepted(&response.body);
        if response.status != 200 || accepted != (last - first) as usize {
            return Err(format!("adding items: HTTP {}, {accepted} accepted", response.status));
        }
        first = last;
    }
    Ok(())
}

fn accepted(body: &[u8]) -> usize {
    let text = String::from_utf8_lossy(body);
    text.matches(r#""status":"accepted""#).count()
}

/// What one client did in one run.
struct ClientRun {
    latencies: Latencies,
    events: u64,
    refused: u64,
    finished: Instant,
    acks: Vec<Ack>,
}

/// An accepted command of a run whose pushes are noted (for P12): its event's position, and
/// the wall clock (microseconds since the Unix epoch, comparable across processes on this
/// machine) just before its request was written and just after its answer was read.
pub struct Ack {
    /// The position of the event it recorded.
    pub position: u64,
    /// When the request was about to be written.
    pub sent: u64,
    /// When the answer had been read.
    pub answered: u64,
}

/// Microseconds since the Unix epoch.
pub fn wall_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The positions of the events in a push's answer (inventory payloads have no `position`
/// field, so every `"position":` is an envelope's).
fn positions(body: &[u8]) -> Vec<u64> {
    const KEY: &[u8] = br#""position":"#;
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.windows(KEY.len()).position(|window| window == KEY) {
        rest = &rest[at + KEY.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if let Some(position) =
            std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok())
        {
            found.push(position);
        }
    }
    found
}

/// Runs `work(client index, its connection)` on `clients` threads released together, and
/// returns what each measured with the moment they were released.
fn in_parallel(
    addr: SocketAddr,
    clients: usize,
    work: impl Fn(usize, &mut Client) -> Result<ClientRun, String> + Send + Sync + 'static,
) -> Result<(Vec<ClientRun>, Instant), String> {
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut threads = Vec::new();
    for c in 0..clients {
        let (work, barrier) = (work.clone(), barrier.clone());
        let mut client = Client::connect(addr).map_err(|e| format!("connect: {e}"))?;
        threads.push(std::thread::spawn(move || {
            barrier.wait();
            work(c, &mut client)
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let mut runs = Vec::new();
    for thread in threads {
        runs.push(thread.join().map_err(|_| "a client thread panicked".to_owned())??);
    }
    Ok((runs, started))
}

/// Figures of one run from what its clients did; the run's acks, if noted.
fn tally(runs: Vec<ClientRun>, started: Instant, into: &mut Appends) -> Result<Vec<Ack>, String> {
    let refused: u64 = runs.iter().map(|r| r.refused).sum();
    if refused > 0 {
        return Err(format!("{refused} commands were refused; the load should have none"));
    }
    let events: u64 = runs.iter().map(|r| r.events).sum();
    let finished = runs.iter().map(|r| r.finished).max().unwrap_or(started);
    let mut latencies = Latencies::default();
    let mut acks = Vec::new();
    for run in runs {
        latencies.extend(run.latencies);
        acks.extend(run.acks);
    }
    into.rates.push(events as f64 / (finished - started).as_secs_f64());
    into.p50s.push(latencies.percentile_ms(50.0));
    into.p99s.push(latencies.percentile_ms(99.0));
    Ok(acks)
}

/// 64 clients, one command per request, for a fixed time per run; a server of its own.
pub fn single_commands(bench: &Bench, database: &str) -> Result<Appends, String> {
    let server = Server::start(&bench.server_bin, database, &bench.work, &[])?;
    let (result, _) = single_command_runs(bench, &server, false)?;
    drop(server);
    Ok(result)
}

/// The runs of [`single_commands`] on `server`: a warm-up, then `settings.runs` measured runs.
/// With `note`, the accepted pushes of each measured run are returned as [`Ack`]s.
pub fn single_command_runs(
    bench: &Bench,
    server: &Server,
    note: bool,
) -> Result<(Appends, Vec<Vec<Ack>>), String> {
    let s = &bench.settings;
    let (clients, items) = (s.clients, s.items_per_client);
    add_items(server.addr, clients as u64 * items)?;
    // Each client's count of commands so far carries over from run to run.
    let counts: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..clients).map(|_| Default::default()).collect());
    let mut result = Appends { rates: Vec::new(), p50s: Vec::new(), p99s: Vec::new() };
    let mut warmup = Appends { rates: Vec::new(), p50s: Vec::new(), p99s: Vec::new() };
    let mut noted = Vec::new();
    for run in 0..=s.runs {
        let seconds = if run == 0 { s.warmup } else { s.seconds };
        let note = note && run > 0;
        let counts = counts.clone();
        let (runs, started) = in_parallel(server.addr, clients, move |c, client| {
            let first = c as u64 * items;
            let count = &counts[c];
            let mut out = ClientRun {
                latencies: Latencies::default(),
                events: 0,
                refused: 0,
                finished: Instant::now(),
                acks: Vec::new(),
            };
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            while Instant::now() < deadline {
                let k = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let body = push(&[writer_command(first, items, k)]);
                let sent_at = if note { wall_micros() } else { 0 };
                let sent = Instant::now();
                let response =
                    client.post("/v1/commands", body.as_bytes()).map_err(|e| e.to_string())?;
                out.latencies.push(sent.elapsed());
                let answered = if note { wall_micros() } else { 0 };
                if response.status != 200 {
                    return Err(format!(
                        "HTTP {}: {}",
                        response.status,
                        String::from_utf8_lossy(&response.body)
                    ));
                }
                match accepted(&response.body) {
                    1 => out.events += 1,
                    _ => out.refused += 1,
                }
                if note {
                    for position in positions(&response.body) {
                        out.acks.push(Ack { position, sent: sent_at, answered });
                    }
                }
            }
            out.finished = Instant::now();
            Ok(out)
        })?;
        let acks = tally(runs, started, if run == 0 { &mut warmup } else { &mut result })?;
        if note {
            noted.push(acks);
        }
    }
    Ok((result, noted))
}

/// A few clients, each sending requests of 1,000 commands; a server of its own.
fn batches(bench: &Bench, database: &str) -> Result<Appends, String> {
    let s = &bench.settings;
    let server = Server::start(&bench.server_bin, database, &bench.work, &[])?;
    let (clients, items, batches) = (s.batch_clients, 1000u64, s.batches);
    add_items(server.addr, clients as u64 * items)?;
    let counts: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..clients).map(|_| Default::default()).collect());
    let mut result = Appends { rates: Vec::new(), p50s: Vec::new(), p99s: Vec::new() };
    let mut warmup = Appends { rates: Vec::new(), p50s: Vec::new(), p99s: Vec::new() };
    for run in 0..=s.runs {
        let requests = if run == 0 { 2 } else { batches };
        let counts = counts.clone();
        let (runs, started) = in_parallel(server.addr, clients, move |c, client| {
            let first = c as u64 * items;
            let count = &counts[c];
            let mut out = ClientRun {
                latencies: Latencies::default(),
                events: 0,
                refused: 0,
                finished: Instant::now(),
                acks: Vec::new(),
            };
            for _ in 0..requests {
                let k = count.fetch_add(1000, std::sync::atomic::Ordering::Relaxed);
                let commands: Vec<String> =
                    (k..k + 1000).map(|k| writer_command(first, items, k)).collect();
                let body = push(&commands);
                let sent = Instant::now();
                let response =
                    client.post("/v1/commands", body.as_bytes()).map_err(|e| e.to_string())?;
                out.latencies.push(sent.elapsed());
                if response.status != 200 {
                    return Err(format!(
                        "HTTP {}: {}",
                        response.status,
                        String::from_utf8_lossy(&response.body)
                    ));
                }
                let accepted = accepted(&response.body) as u64;
                out.events += accepted;
                out.refused += 1000 - accepted;
            }
            out.finished = Instant::now();
            Ok(out)
        })?;
        tally(runs, started, if run == 0 { &mut warmup } else { &mut result })?;
    }
    drop(server);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::positions;

    #[test]
    fn a_push_answer_gives_the_positions_of_its_events() {
        let answer = br#"{"results":[{"status":"accepted","id":"a","events":[{"id":"e","stream":"item-1","version":3,"position":41,"type":"StockReceived","schema":1,"data":{"qty":1},"meta":{}},{"id":"f","stream":"item-1","version":4,"position":42,"type":"StockReceived","schema":1,"data":{"qty":2},"meta":{}}]},{"status":"rejected","id":"b","code":"x","message":"y"}],"head":42}"#;
        assert_eq!(positions(answer), [41, 42]);
        assert_eq!(positions(br#"{"results":[],"head":7}"#), Vec::<u64>::new());
    }
}
