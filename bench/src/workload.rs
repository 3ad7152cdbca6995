//! The inventory data every measure and every peer uses: deterministic ids, the commands the
//! load generator sends, and a log of stored events (written as NDJSON envelopes, the format
//! of `annals-server export` and `import`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The cafeteria's sites.
pub const SITES: [&str; 4] = ["crossroads", "harbour", "hilltop", "meadow"];

/// Events per item stream in a generated log.
pub const EVENTS_PER_ITEM: u64 = 250;

/// A UUID-shaped id, the same on every run: `kind` tells ids of different things apart.
pub fn uuid(kind: u16, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        0x5eed_0000u32 | u32::from(kind),
        (n >> 48) & 0xffff,
        (n >> 36) & 0xfff,
        (n >> 24) & 0xfff,
        n & 0xff_ffff_ffff
    )
}

/// The id of item `n`.
pub fn item(n: u64) -> String {
    uuid(1, n)
}

static COMMANDS: AtomicU64 = AtomicU64::new(0);

/// A command id never used before in this process (the process id keeps runs apart too, so a
/// command is never answered from the server's idempotency table).
pub fn command_id() -> String {
    let n = COMMANDS.fetch_add(1, Ordering::Relaxed);
    uuid(2, (u64::from(std::process::id()) << 32) | n)
}

/// `{"id", "type":"AddItem", "data"}` for item `n`.
pub fn add_item(n: u64) -> String {
    format!(
        r#"{{"id":"{}","type":"AddItem","data":{{"item":"{}","name":"Item {n}","unit":"each","reorder_level":10}}}}"#,
        command_id(),
        item(n)
    )
}

/// `ReceiveStock` of `qty` units of item `n` at `site`.
pub fn receive(n: u64, site: &str, qty: i64) -> String {
    format!(
        r#"{{"id":"{}","type":"ReceiveStock","data":{{"item":"{}","site":"{site}","qty":{qty}}}}}"#,
        command_id(),
        item(n)
    )
}

/// `ConsumeStock` of `qty` units of item `n` at `site`.
pub fn consume(n: u64, site: &str, qty: i64) -> String {
    format!(
        r#"{{"id":"{}","type":"ConsumeStock","data":{{"item":"{}","site":"{site}","qty":{qty}}}}}"#,
        command_id(),
        item(n)
    )
}

/// The body of `POST /v1/commands`.
pub fn push(commands: &[String]) -> String {
    format!(r#"{{"commands":[{}]}}"#, commands.join(","))
}

/// The `k`-th command a writer sends to the items it owns, `first..first + count`: stock
/// received twice, then consumed once, at rotating sites, so every command is accepted.
pub fn writer_command(first: u64, count: u64, k: u64) -> String {
    let n = first + (k / 3) % count;
    let site = SITES[((k / 3 / count) % SITES.len() as u64) as usize];
    if k % 3 == 2 { consume(n, site, 1) } else { receive(n, site, 1) }
}

/// One stored event of a generated log.
pub struct LogEvent {
    /// The item it belongs to.
    pub item: u64,
    /// The item stream's version after it.
    pub version: u64,
    /// Its type.
    pub event_type: &'static str,
    /// Its payload, JSON text.
    pub data: String,
}

/// The `i`-th event of the generated log: items one after another, [`EVENTS_PER_ITEM`] each
/// (added, then stock received, consumed and counted at its sites, now and then renamed), a
/// valid history that the inventory's rules would have produced.
pub fn log_event(i: u64) -> LogEvent {
    let item = i / EVENTS_PER_ITEM;
    let k = i % EVENTS_PER_ITEM;
    let version = k + 1;
    if k == 0 {
        return LogEvent {
            item,
            version,
            event_type: "ItemAdded",
            data: format!(r#"{{"name":"Item {item}","unit":"each","reorder_level":10}}"#),
        };
    }
    let site = SITES[(k % SITES.len() as u64) as usize];
    // Per site the rounds go: received 5..11, consumed 1..3, ... and every 40th is a count.
    // What a site holds is tracked by `held`, so consumption never exceeds it.
    let round = (k - 1) / SITES.len() as u64;
    let (event_type, data) = if k.is_multiple_of(97) {
        ("ItemRenamed", format!(r#"{{"name":"Item {item} (rev {k})"}}"#))
    } else if round % 40 == 39 {
        let before = held(item, k);
        let counted = before.saturating_sub(1);
        let delta = counted as i64 - before as i64;
        ("StockCounted", format!(r#"{{"site":"{site}","counted":{counted},"delta":{delta}}}"#))
    } else if round.is_multiple_of(2) {
        ("StockReceived", format!(r#"{{"site":"{site}","qty":{}}}"#, received(item, k)))
    } else {
        ("StockConsumed", format!(r#"{{"site":"{site}","qty":{}}}"#, consumed(item, k)))
    };
    LogEvent { item, version, event_type, data }
}

fn received(item: u64, k: u64) -> u64 {
    5 + (item + k) % 7
}

fn consumed(item: u64, k: u64) -> u64 {
    1 + (item + k) % 3
}

/// What item `item` holds at the site of its `k`-th event, before that event.
fn held(item: u64, k: u64) -> u64 {
    let sites = SITES.len() as u64;
    let mut held: u64 = 0;
    let mut j = k % sites;
    if j == 0 {
        j = sites;
    }
    while j < k {
        let round = (j - 1) / sites;
        if !j.is_multiple_of(97) {
            if round % 40 == 39 {
                held = held.saturating_sub(1);
            } else if round.is_multiple_of(2) {
                held += received(item, j);
            } else {
                held -= consumed(item, j).min(held);
            }
        }
        j += sites;
    }
    held
}

/// The command that makes the `i`-th event of the generated log, with a fresh command id.
pub fn log_command(i: u64) -> String {
    let event = log_event(i);
    let command_type = match event.event_type {
        "ItemAdded" => "AddItem",
        "ItemRenamed" => "RenameItem",
        "StockReceived" => "ReceiveStock",
        "StockConsumed" => "ConsumeStock",
        _ => "CountStock",
    };
    // The payload less the fields only events carry (a count's delta), plus the item.
    let fields = event.data.split(r#","delta""#).next().unwrap_or("{").trim_end_matches('}');
    format!(
        r#"{{"id":"{}","type":"{command_type}","data":{{"item":"{}",{}}}}}"#,
        command_id(),
        item(event.item),
        fields.trim_start_matches('{')
    )
}

/// The envelope of the `i`-th event as one NDJSON line (position `i + 1`).
pub fn envelope(i: u64, event: &LogEvent) -> String {
    format!(
        r#"{{"id":"{}","stream":"item-{}","version":{},"position":{},"type":"{}","schema":{},"data":{},"meta":{{"command":"{}","actor":"bench","at":{}}}}}"#,
        uuid(3, i),
        item(event.item),
        event.version,
        i + 1,
        event.event_type,
        if event.event_type == "ItemAdded" { 2 } else { 1 },
        event.data,
        uuid(4, i),
        1_732_370_000_000 + i
    )
}

/// Writes the first `count` events of the generated log to `path` as NDJSON envelopes.
pub fn write_log(path: &Path, count: u64) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for i in 0..count {
        writeln!(out, "{}", envelope(i, &log_event(i)))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let a = item(1);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(item(1), item(2));
        assert_ne!(command_id(), command_id());
    }

    #[test]
    fn the_log_is_made_by_commands() {
        let i = (0..EVENTS_PER_ITEM).find(|i| log_event(*i).event_type == "StockCounted");
        let count = log_command(i.expect("a count in the first item's events"));
        assert!(count.contains(r#""type":"CountStock""#), "{count}");
        let data: serde_json::Value = serde_json::from_str(&count).expect("JSON");
        assert!(data["data"]["counted"].is_i64() && data["data"]["delta"].is_null(), "{count}");
        let added: serde_json::Value = serde_json::from_str(&log_command(0)).expect("JSON");
        assert_eq!(added["type"], "AddItem");
        assert_eq!(added["data"]["item"], item(0));
    }

    #[test]
    fn a_generated_log_never_consumes_more_than_a_site_holds() {
        let mut stock = std::collections::HashMap::<(u64, String), i64>::new();
        for i in 0..20 * EVENTS_PER_ITEM {
            let event = log_event(i);
            let data: serde_json::Value = serde_json::from_str(&event.data).expect("JSON");
            let site = data["site"].as_str().unwrap_or_default().to_owned();
            let held = stock.entry((event.item, site)).or_default();
            match event.event_type {
                "StockReceived" => *held += data["qty"].as_i64().unwrap_or(0),
                "StockConsumed" => {
                    *held -= data["qty"].as_i64().unwrap_or(0);
                    assert!(*held >= 0, "event {i} consumes more than its site holds");
                }
                "StockCounted" => {
                    assert_eq!(*held + data["delta"].as_i64().unwrap_or(0), data["counted"]);
                    *held = data["counted"].as_i64().unwrap_or(0);
                }
                _ => {}
            }
        }
    }
}
