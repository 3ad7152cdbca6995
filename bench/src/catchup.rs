//! P5: a catch-up read of the whole global log over HTTP, page by page.

use std::time::Instant;

use crate::http::Client;
use crate::report::{Ours, Row};
use crate::server::Server;
use crate::stats::{median, thousands};
use crate::{Bench, step};

/// Most events one page may hold (the server's limit).
const PAGE: u32 = 10_000;

/// Reads the P1 log back through `GET /v1/events` on a server of its own.
pub fn p5(bench: &Bench, database: Option<&str>) -> Row {
    let events = bench.settings.log_events;
    let mut row = Row::new(
        "P5",
        format!(
            "catch-up read of the global log over HTTP ({} events, pages of {})",
            thousands(events as f64),
            thousands(f64::from(PAGE))
        ),
        "≥ 500,000 events/s",
    );
    let Some(database) = database else {
        row.ours = Ours::Failed("it needs the log database P1 makes, and P1 failed".to_owned());
        return row;
    };
    let outcome = (|| {
        let server = Server::start(&bench.server_bin, database, &bench.work, &[])?;
        let mut rates = Vec::new();
        for run in 1..=bench.settings.runs {
            let (count, seconds) =
                step(&format!("P5: read the whole log, run {run}"), || read_all(&server))?;
            if count != events {
                return Err(format!("read {count} events of {events}"));
            }
            rates.push(count as f64 / seconds);
        }
        let rate = median(&rates);
        row.measured(format!("{} events/s", thousands(rate)), rate, 500_000.0, false);
        row.note(format!(
            "One client, one keep-alive connection, pages read one after another; runs: {} events/s.",
            rates.iter().map(|r| thousands(*r)).collect::<Vec<_>>().join(", ")
        ));
        Ok(())
    })();
    row.or_fail(outcome)
}

/// Reads every page; returns the events read and the seconds it took.
fn read_all(server: &Server) -> Result<(u64, f64), String> {
    let mut client = Client::connect(server.addr).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (mut after, mut count) = (0u64, 0u64);
    loop {
        let response = client
            .get(&format!("/v1/events?after={after}&limit={PAGE}"))
            .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("HTTP {}", response.status));
        }
        let Some(last) = last_position(&response.body) else { break };
        // Positions are gap-free, so the page held every event from `after` to `last`.
        count += last - after;
        after = last;
    }
    Ok((count, started.elapsed().as_secs_f64()))
}

/// The last envelope's position on a page of the log, found by scanning back from its end
/// for `"position":` (inventory payloads have no such field) rather than decoding the page.
fn last_position(body: &[u8]) -> Option<u64> {
    const KEY: &[u8] = br#""position":"#;
    let at = body.windows(KEY.len()).rposition(|window| window == KEY)? + KEY.len();
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&body[at..at + digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::last_position;

    #[test]
    fn a_page_ends_at_its_last_position() {
        let page = br#"{"events":[{"id":"a","position":7,"data":{}},{"id":"b","position":8,"data":{}}],"head":9}"#;
        assert_eq!(last_position(page), Some(8));
        assert_eq!(last_position(br#"{"events":[],"head":9}"#), None);
    }
}
