//! P9: a command on one client, seen by 100 subscribed clients: latency from sending it to
//! each subscriber reading its event.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::appends::add_items;
use crate::http::{Client, Subscription};
use crate::report::Row;
use crate::server::{self, Server};
use crate::stats::{Latencies, median, ms};
use crate::workload::{push, receive};
use crate::{Bench, step};

/// Pause between two commands, so each is measured on its own rather than in a queue.
const PAUSE: Duration = Duration::from_millis(5);

/// Runs P9 on a server of its own (SQLite).
pub fn p9(bench: &Bench) -> Row {
    let s = &bench.settings;
    let mut row = Row::new(
        "P9",
        format!(
            "a command on one client, visible on {} subscribed clients (SSE)",
            s.p9_subscribers
        ),
        "p50 ≤ 10 ms, p99 ≤ 50 ms",
    );
    let outcome = (|| {
        let database = server::sqlite(&bench.work, "p9");
        let server = Server::start(&bench.server_bin, &database, &bench.work, &[])?;
        let runs = step("P9: fan-out to subscribers", || {
            fan_out(&server, s.p9_subscribers, s.p9_commands, s.runs)
        })?;
        let p50 = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
        let p99 = median(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
        row.measured(format!("p50 {}, p99 {}", ms(p50), ms(p99)), p50, 10.0, true);
        let mut missed = Vec::new();
        if p50 > 10.0 {
            missed.push(format!("p50 {:.0}% over", (p50 / 10.0 - 1.0) * 100.0));
        }
        if p99 > 50.0 {
            missed.push(format!("p99 {:.0}% over", (p99 / 50.0 - 1.0) * 100.0));
        }
        row.judge(missed);
        row.note(format!(
            "{} commands per run, {} apart, each seen by {} subscribers; per-run p50/p99: {}.",
            s.p9_commands,
            ms(PAUSE.as_secs_f64() * 1000.0),
            s.p9_subscribers,
            runs.iter()
                .map(|(a, b)| format!("{}/{}", ms(*a), ms(*b)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// Opens `subscribers` subscriptions, then sends `commands` commands per run, `runs` times;
/// returns each run's p50 and p99 in milliseconds.
fn fan_out(
    server: &Server,
    subscribers: usize,
    commands: usize,
    runs: usize,
) -> Result<Vec<(f64, f64)>, String> {
    add_items(server.addr, 1)?;
    let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
    let head = head(&mut client)?;
    let total = commands * runs;
    let (seen, ready) = subscribe(server.addr, subscribers, head, total)?;
    ready.wait();
    let mut sent: Vec<HashMap<String, Instant>> = Vec::new();
    for _ in 0..runs {
        let mut run = HashMap::new();
        for k in 0..commands {
            let command = receive(0, "crossroads", 1 + k as i64 % 3);
            let id = command_id(&command).to_owned();
            let body = push(&[command]);
            let at = Instant::now();
            let response =
                client.post("/v1/commands", body.as_bytes()).map_err(|e| e.to_string())?;
            if response.status != 200 {
                return Err(format!("HTTP {}", response.status));
            }
            run.insert(id, at);
            std::thread::sleep(PAUSE);
        }
        sent.push(run);
    }
    let mut received = Vec::new();
    for thread in seen {
        received.push(thread.join().map_err(|_| "a subscriber panicked".to_owned())??);
    }
    let mut figures = Vec::new();
    for run in &sent {
        let mut latencies = Latencies::default();
        for subscriber in &received {
            for (id, at) in subscriber {
                if let Some(sent) = run.get(id) {
                    latencies.push(at.saturating_duration_since(*sent));
                }
            }
        }
        if latencies.len() != run.len() * subscribers {
            return Err(format!(
                "{} of {} deliveries arrived",
                latencies.len(),
                run.len() * subscribers
            ));
        }
        figures.push((latencies.percentile_ms(50.0), latencies.percentile_ms(99.0)));
    }
    Ok(figures)
}

type Seen = std::thread::JoinHandle<Result<Vec<(String, Instant)>, String>>;

/// Starts `count` subscriber threads after position `after`, each reading `events` events
/// and noting when it read each command's event. The barrier is passed once all are open.
pub fn subscribe(
    addr: SocketAddr,
    count: usize,
    after: u64,
    events: usize,
) -> Result<(Vec<Seen>, Arc<Barrier>), String> {
    let ready = Arc::new(Barrier::new(count + 1));
    let mut threads = Vec::new();
    for _ in 0..count {
        let ready = ready.clone();
        let thread = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
            let opened = Subscription::open(addr, after);
            ready.wait();
            let mut subscription = opened.map_err(|e| format!("subscribe: {e}"))?;
            let mut seen = Vec::with_capacity(events);
            while seen.len() < events {
                let event = subscription.next_event().map_err(|e| format!("subscription: {e}"))?;
                let event = event.ok_or("the subscription ended early")?;
                seen.push((command_of(&event.data).to_owned(), Instant::now()));
            }
            subscription.close();
            Ok(seen)
        });
        threads.push(thread.map_err(|e| format!("cannot start a subscriber: {e}"))?);
    }
    Ok((threads, ready))
}

/// The log's head, from an empty page.
pub fn head(client: &mut Client) -> Result<u64, String> {
    let page = client
        .get("/v1/events?after=0&limit=1")
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    page["head"].as_u64().ok_or_else(|| "no head in the log page".to_owned())
}

/// The command id in a command's JSON, `{"id":"...", ...}`.
fn command_id(command: &str) -> &str {
    command.get(7..43).unwrap_or_default()
}

/// The command id in an envelope's metadata, `"meta":{"command":"..."`.
fn command_of(envelope: &str) -> &str {
    const KEY: &str = r#""command":""#;
    envelope
        .rfind(KEY)
        .and_then(|at| envelope.get(at + KEY.len()..at + KEY.len() + 36))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_in_commands_and_envelopes() {
        let command = receive(0, "crossroads", 1);
        let id = command_id(&command);
        assert_eq!(id.len(), 36);
        let envelope = format!(
            r#"{{"id":"x","data":{{}},"meta":{{"command":"{id}","actor":"local","at":1}}}}"#
        );
        assert_eq!(command_of(&envelope), id);
    }
}
