//! P10: the server's peak resident memory with the P1 log stored and many subscribers open.

use std::time::Instant;

use crate::fanout::{head, subscribe};
use crate::http::Client;
use crate::report::{Ours, Row};
use crate::server::Server;
use crate::stats::thousands;
use crate::workload::{push, receive};
use crate::{Bench, step};

/// Commands sent while the subscribers listen, so every one of them is fed.
const COMMANDS: usize = 100;

/// Starts a server on the P1 database, opens the subscribers, sends commands to all of them,
/// and reads the peak resident memory.
pub fn p10(bench: &Bench, database: Option<&str>) -> Row {
    let (events, subscribers) = (bench.settings.log_events, bench.settings.p10_subscribers);
    let mut row = Row::new(
        "P10",
        format!(
            "server peak RSS with {} events stored and {} subscribers",
            thousands(events as f64),
            thousands(subscribers as f64)
        ),
        "≤ 200 MB",
    );
    let Some(database) = database else {
        row.ours = Ours::Failed("it needs the log database P1 makes, and P1 failed".to_owned());
        return row;
    };
    let outcome = step("P10: memory with subscribers", || {
        let server = Server::start(&bench.server_bin, database, &bench.work, &[])?;
        let at_start = server.status_kib("VmRSS").unwrap_or(0);
        // An item of its own, past the items of the log.
        let item = events;
        add_item(&server, item)?;
        let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
        let after = head(&mut client)?;
        let (threads, ready) = subscribe(server.addr, subscribers, after, COMMANDS)?;
        ready.wait();
        let subscribed = server.status_kib("VmRSS").unwrap_or(0);
        let started = Instant::now();
        for k in 0..COMMANDS {
            let body = push(&[receive(item, "crossroads", 1 + k as i64 % 3)]);
            let response =
                client.post("/v1/commands", body.as_bytes()).map_err(|e| e.to_string())?;
            if response.status != 200 {
                return Err(format!("HTTP {}", response.status));
            }
        }
        for thread in threads {
            thread.join().map_err(|_| "a subscriber panicked".to_owned())??;
        }
        let delivered = started.elapsed();
        let peak = server.status_kib("VmHWM").ok_or("no VmHWM in /proc")?;
        let mb = peak as f64 * 1024.0 / 1e6;
        row.measured(format!("{mb:.0} MB"), mb, 200.0, true);
        row.note(format!(
            "Resident memory: {:.0} MB after start, {:.0} MB with the subscribers open, peak \
             {mb:.0} MB after {COMMANDS} commands reached all {subscribers} subscribers (which took {:.2} s).",
            at_start as f64 * 1024.0 / 1e6,
            subscribed as f64 * 1024.0 / 1e6,
            delivered.as_secs_f64()
        ));
        Ok(())
    });
    row.or_fail(outcome)
}

/// Adds item `n`.
fn add_item(server: &Server, n: u64) -> Result<(), String> {
    let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
    let body = push(&[crate::workload::add_item(n)]);
    let response = client.post("/v1/commands", body.as_bytes()).map_err(|e| e.to_string())?;
    if response.status == 200 && String::from_utf8_lossy(&response.body).contains("accepted") {
        Ok(())
    } else {
        Err(format!("adding an item: HTTP {}", response.status))
    }
}
