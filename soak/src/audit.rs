//! The audit after the load: the log against every answer the clients were given and every
//! event the subscribers were given, and the read models against a fresh rebuild.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use annals_server::testing::{Api, position};
use serde_json::Value;

use crate::Rng;
use crate::load::{Ledger, Load, Seen};

/// The inventory's read models.
const VIEWS: [&str; 5] = ["stock", "low_stock", "activity", "history", "reorders"];
/// How long a node may take to answer reads once the faults have stopped.
const SETTLE: Duration = Duration::from_secs(120);

/// One finding of the audit.
pub struct Check {
    /// What was checked.
    pub what: String,
    /// What was found wrong; empty when it held.
    pub wrong: Vec<String>,
}

impl Check {
    fn new(what: impl Into<String>) -> Check {
        Check { what: what.into(), wrong: Vec::new() }
    }

    /// Notes something wrong, keeping the first ten.
    fn wrong(&mut self, what: String) {
        if self.wrong.len() < 10 {
            self.wrong.push(what);
        }
    }
}

/// What the audit found, and the log's size.
pub struct Findings {
    /// Each check.
    pub checks: Vec<Check>,
    /// Events in the log.
    pub events: u64,
}

/// What the audit keeps of one event of the log.
pub struct Entry {
    /// Its id.
    pub id: String,
    /// The command it names in its meta (a raw event names itself).
    pub command: Option<String>,
    /// Its position and digest.
    pub seen: Seen,
}

impl Entry {
    /// What the audit keeps of `event`.
    fn of(event: &Value) -> Entry {
        Entry {
            id: event["id"].as_str().unwrap_or_default().to_owned(),
            command: event["meta"]["command"].as_str().map(str::to_owned),
            seen: Seen::of(event),
        }
    }
}

/// Audits the log of `load`'s database once the load has stopped, every node is up and the
/// subscribers have finished; stops the nodes to rebuild the read models, and starts one.
pub async fn audit(load: &Load) -> Findings {
    let mut shape = Check::new("positions gap-free, event ids unique, stream versions in order");
    let log = match read_log(load, &mut shape).await {
        Ok(log) => log,
        Err(err) => {
            let mut check = Check::new("the log can be read");
            check.wrong(err);
            return Findings { checks: vec![check], events: 0 };
        }
    };
    let ledger = &load.ledger;
    let checks =
        vec![shape, commands(ledger, &log), raw_events(ledger, &log), subscribers(ledger, &log)];
    let mut findings = Findings { checks, events: log.len() as u64 };
    drop(log);
    findings.checks.push(views(load, findings.events).await);
    findings
}

/// The whole log, page by page, checked for its shape on the way into `shape`.
async fn read_log(load: &Load, shape: &mut Check) -> Result<Vec<Entry>, String> {
    let mut rng = Rng::new();
    let mut log: Vec<Entry> = Vec::new();
    let mut ids = HashSet::new();
    let mut versions = HashMap::new();
    loop {
        let path = format!("/v1/events?after={}&limit=10000", log.len());
        let page = load.until_answered(&mut rng, "GET", &path, None).await?;
        let batch = page["events"].as_array().ok_or(format!("{path} answered {page}"))?;
        if batch.is_empty() {
            return Ok(log);
        }
        for event in batch {
            check_shape(shape, event, log.len() as u64 + 1, &mut ids, &mut versions);
            log.push(Entry::of(event));
        }
    }
}

/// Checks that `event` is at position `expected`, has an id not seen before, and the next
/// version of its stream.
fn check_shape(
    check: &mut Check,
    event: &Value,
    expected: u64,
    ids: &mut HashSet<String>,
    versions: &mut HashMap<String, u64>,
) {
    if position(event) != expected {
        check.wrong(format!("event {expected} of the log is at position {}", position(event)));
    }
    let id = event["id"].as_str().unwrap_or_default();
    if !ids.insert(id.to_owned()) {
        check.wrong(format!("event {id} is in the log twice"));
    }
    let stream = event["stream"].as_str().unwrap_or_default();
    let version = versions.entry(stream.to_owned()).or_default();
    *version += 1;
    if event["version"] != *version {
        check.wrong(format!("{stream} goes from version {} to {}", *version - 1, event["version"]));
    }
}

/// Every acknowledged command's events are in the log once, where and as its answer said; a
/// refused command left none; every event of a command belongs to an acknowledged one.
fn commands(ledger: &Ledger, log: &[Entry]) -> Check {
    let acked = ledger.commands.lock().expect("commands");
    let mut check = Check::new(format!(
        "each of the {} acknowledged commands' events in the log exactly once",
        acked.len()
    ));
    // A raw event names itself as its command; the raw events are audited on their own.
    let raw = ledger.raw.lock().expect("raw events");
    let mut by_command: HashMap<&str, usize> = HashMap::new();
    for entry in log {
        if let Some(id) = &entry.command
            && !raw.contains_key(&entry.id)
        {
            *by_command.entry(id).or_default() += 1;
        }
    }
    for (id, answer) in acked.iter() {
        let found = by_command.get(id.as_str()).copied().unwrap_or(0);
        if found != answer.events.len() {
            check.wrong(format!(
                "command {id} was answered with {} events and has {found} in the log",
                answer.events.len()
            ));
        }
        for event in &answer.events {
            let at = event.position as usize;
            if at == 0 || log.get(at - 1).map(|entry| entry.seen) != Some(*event) {
                check.wrong(format!(
                    "command {id}'s event at {} is not in the log as answered",
                    event.position
                ));
            }
        }
    }
    for id in by_command.keys() {
        if !acked.contains_key(*id) {
            check.wrong(format!("the log holds events of command {id}, never acknowledged"));
        }
    }
    check
}

/// Every acknowledged raw event is in the log at the position it was given, and every event
/// that names no command is one of them.
fn raw_events(ledger: &Ledger, log: &[Entry]) -> Check {
    let raw = ledger.raw.lock().expect("raw events");
    let mut check = Check::new(format!(
        "each of the {} acknowledged raw events in the log exactly once",
        raw.len()
    ));
    for (id, at) in raw.iter() {
        let found = log.get((*at as usize).wrapping_sub(1)).map(|entry| entry.id.as_str());
        if found != Some(id.as_str()) {
            check.wrong(format!("raw event {id} is not at position {at}"));
        }
    }
    for entry in log {
        if entry.command.is_none() && !raw.contains_key(&entry.id) {
            check.wrong(format!("the log holds event {}, never acknowledged", entry.id));
        }
    }
    check
}

/// Every subscriber was given the log's events after its position, in order, none missed or
/// repeated; those that stayed to the end reached the final head.
fn subscribers(ledger: &Ledger, log: &[Entry]) -> Check {
    let sessions = ledger.sessions.lock().expect("sessions");
    let delivered: usize = sessions.iter().map(|s| s.delivered.len()).sum();
    let mut check = Check::new(format!(
        "{} subscribers given {delivered} events: each in order, none missed or repeated",
        sessions.len()
    ));
    for (number, session) in sessions.iter().enumerate() {
        for (offset, seen) in session.delivered.iter().enumerate() {
            let expected = session.after as usize + offset;
            if log.get(expected).map(|entry| entry.seen) != Some(*seen) {
                check.wrong(format!(
                    "subscriber {number} (after {}) was given {} where the log has position {}",
                    session.after,
                    seen.position,
                    expected + 1
                ));
                break;
            }
        }
        let reached = session.after + session.delivered.len() as u64;
        if session.to_the_end && reached != log.len() as u64 {
            check.wrong(format!(
                "subscriber {number} (after {}) stopped at {reached} of {}",
                session.after,
                log.len()
            ));
        }
    }
    check
}

/// Every node's read models are the same, at the head, and equal to what `annals-server
/// rebuild` makes from the log.
async fn views(load: &Load, head: u64) -> Check {
    let mut check = Check::new(format!(
        "read models of {} node(s) at the head, equal to a fresh rebuild",
        load.nodes.len()
    ));
    let mut served = Vec::new();
    for node in 0..load.nodes.len() {
        match read_views(load, node, head).await {
            Ok(views) => served.push(views),
            Err(err) => check.wrong(format!("node {node}: {err}")),
        }
    }
    for (node, views) in served.iter().enumerate().skip(1) {
        if views != &served[0] {
            check.wrong(format!("node {node}'s read models differ from node 0's"));
        }
    }
    load.nodes.kill_all().await;
    if let Err(err) = load.nodes.rebuild() {
        check.wrong(err);
        return check;
    }
    load.nodes.revive(0).await;
    match read_views(load, 0, head).await {
        Ok(rebuilt) => {
            for name in VIEWS {
                if served.first().is_some_and(|views| views[name] != rebuilt[name]) {
                    check.wrong(format!("view {name} differs from its rebuild"));
                }
            }
        }
        Err(err) => check.wrong(format!("after the rebuild: {err}")),
    }
    check
}

/// Every read model that node `node` serves, page by page, each at position `head`.
async fn read_views(
    load: &Load,
    node: usize,
    head: u64,
) -> Result<BTreeMap<&'static str, Value>, String> {
    let api = load.nodes.api(node).ok_or(format!("node {node} is down"))?;
    let mut views = BTreeMap::new();
    for name in VIEWS {
        let mut whole: Option<Value> = None;
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(key) => format!("/v1/views/{name}?limit=1000&after={key}"),
                None => format!("/v1/views/{name}?limit=1000"),
            };
            let page = get(&api, &path).await?;
            if page["position"] != head {
                return Err(format!("{path} is at position {}, not {head}", page["position"]));
            }
            match (&mut whole, page["value"].clone()) {
                (Some(Value::Object(rows)), Value::Object(more)) => rows.extend(more),
                (Some(_), value) => return Err(format!("{path}: a page of {value}")),
                (None, value) => whole = Some(value),
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        views.insert(name, whole.unwrap_or_default());
    }
    Ok(views)
}

/// `GET path` from one node, sent again while it answers 503 or cannot be reached, for up to
/// [`SETTLE`].
async fn get(api: &Api, path: &str) -> Result<Value, String> {
    let started = Instant::now();
    loop {
        match api.try_send("GET", path, &[], None).await {
            Ok(reply) if reply.status == 200 => return Ok(reply.json()),
            Ok(reply) if reply.status != 503 => {
                return Err(format!("{path}: {} {}", reply.status, reply.text()));
            }
            _ if started.elapsed() > SETTLE => return Err(format!("{path}: no answer")),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Each check finds what it is for, so a clean audit means something.
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::load::{Answer, Session, digest};

    fn event(position: u64, stream: &str, version: u64, id: &str, command: &str) -> Value {
        json!({
            "position": position, "stream": stream, "version": version, "id": id,
            "type": "StockReceived", "schema": 1, "data": { "site": "north", "qty": 1 },
            "meta": { "command": command, "actor": "local", "at": 1 },
        })
    }

    /// A log of four events: command c1 (two events), raw event r3, command c2.
    fn log() -> Vec<Value> {
        vec![
            event(1, "item-a", 1, "e1", "c1"),
            event(2, "item-b", 1, "e2", "c1"),
            event(3, "item-a", 2, "r3", "r3"),
            event(4, "item-a", 3, "e4", "c2"),
        ]
    }

    /// What clients were answered for [`log`], and a subscriber after 1 that saw the rest.
    fn ledger(log: &[Value]) -> Ledger {
        let ledger = Ledger::default();
        let answer = |events: &[&Value]| Answer {
            accepted: !events.is_empty(),
            events: events.iter().map(|e| Seen::of(e)).collect(),
            digest: digest(&json!(events.len())),
        };
        let mut commands = ledger.commands.lock().expect("commands");
        commands.insert("c1".into(), answer(&[&log[0], &log[1]]));
        commands.insert("c2".into(), answer(&[&log[3]]));
        commands.insert("refused".into(), answer(&[]));
        drop(commands);
        ledger.raw.lock().expect("raw").insert("r3".into(), 3);
        let delivered = log[1..].iter().map(Seen::of).collect();
        ledger.sessions.lock().expect("sessions").push(Session {
            after: 1,
            delivered,
            to_the_end: true,
        });
        ledger
    }

    /// The checks that fail for `log` against `ledger`.
    fn failing(log: &[Value], ledger: &Ledger) -> Vec<&'static str> {
        let mut shape = Check::new("");
        let (mut ids, mut versions) = (HashSet::new(), HashMap::new());
        for (index, event) in log.iter().enumerate() {
            check_shape(&mut shape, event, index as u64 + 1, &mut ids, &mut versions);
        }
        let entries: Vec<Entry> = log.iter().map(Entry::of).collect();
        let checks = [
            ("shape", shape),
            ("commands", commands(ledger, &entries)),
            ("raw", raw_events(ledger, &entries)),
            ("subscribers", subscribers(ledger, &entries)),
        ];
        checks.into_iter().filter(|(_, c)| !c.wrong.is_empty()).map(|(name, _)| name).collect()
    }

    #[test]
    fn a_sound_log_passes() {
        let log = log();
        assert_eq!(failing(&log, &ledger(&log)), Vec::<&str>::new());
    }

    #[test]
    fn a_gap_or_a_repeated_version_is_found() {
        let mut log = log();
        let ledger = ledger(&log);
        log[3]["position"] = json!(5);
        assert!(failing(&log, &ledger).contains(&"shape"));
        let mut log = self::log();
        log[2]["version"] = json!(1);
        assert!(failing(&log, &ledger).contains(&"shape"));
    }

    #[test]
    fn a_lost_or_doubled_or_changed_command_event_is_found() {
        let log = log();
        let ledger = ledger(&log);
        // Lost: the log ends before c2's event.
        assert!(failing(&log[..3], &ledger).contains(&"commands"));
        // Doubled: c2's event again, under another id.
        let mut doubled = log.clone();
        doubled.push(event(5, "item-a", 4, "e5", "c2"));
        assert!(failing(&doubled, &ledger).contains(&"commands"));
        // Changed: c1's first event holds other data than its answer said.
        let mut changed = log.clone();
        changed[0]["data"]["qty"] = json!(2);
        assert!(failing(&changed, &ledger).contains(&"commands"));
        // Never acknowledged.
        let mut unknown = log.clone();
        unknown.push(event(5, "item-a", 4, "e5", "c9"));
        assert!(failing(&unknown, &ledger).contains(&"commands"));
    }

    #[test]
    fn a_lost_or_unknown_raw_event_is_found() {
        let log = log();
        let ledger = ledger(&log);
        let mut moved = log.clone();
        moved[2]["id"] = json!("r7");
        assert!(failing(&moved, &ledger).contains(&"raw"));
        let mut without_command = log.clone();
        without_command.push(json!({ "position": 5, "stream": "item-c", "version": 1, "id": "x" }));
        assert!(failing(&without_command, &ledger).contains(&"raw"));
    }

    #[test]
    fn a_subscriber_that_missed_repeated_or_stopped_short_is_found() {
        let log = log();
        for delivered in [
            vec![&log[1], &log[3]],
            vec![&log[1], &log[1], &log[2], &log[3]],
            vec![&log[1], &log[2]],
        ] {
            let ledger = ledger(&log);
            ledger.sessions.lock().expect("sessions")[0].delivered =
                delivered.into_iter().map(Seen::of).collect();
            assert_eq!(failing(&log, &ledger), ["subscribers"]);
        }
    }
}
