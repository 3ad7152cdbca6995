//! The audit after the load: the log against every answer the clients were given and every
//! event the subscribers were given, the reorder reaction's requests against the crossings
//! in the log, and the read models against a fresh rebuild.

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
    /// Whether a reaction of the server issued its command.
    pub by_reaction: bool,
    /// Its position and digest.
    pub seen: Seen,
}

impl Entry {
    /// What the audit keeps of `event`.
    fn of(event: &Value) -> Entry {
        Entry {
            id: event["id"].as_str().unwrap_or_default().to_owned(),
            command: event["meta"]["command"].as_str().map(str::to_owned),
            by_reaction: event["meta"]["actor"]
                .as_str()
                .is_some_and(|a| a.starts_with("reaction:")),
            seen: Seen::of(event),
        }
    }
}

/// Audits the log of `load`'s database once the load has stopped, every node is up and the
/// subscribers have finished; stops the nodes to rebuild the read models, and starts one.
/// `caught_up` is what [`caught_up`] found.
pub async fn audit(load: &Load, caught_up: Check) -> Findings {
    let mut shape = Check::new("positions gap-free, event ids unique, stream versions in order");
    let mut reorders = Reorders::default();
    let log = match read_log(load, &mut shape, &mut reorders).await {
        Ok(log) => log,
        Err(err) => {
            let mut check = Check::new("the log can be read");
            check.wrong(err);
            return Findings { checks: vec![check], events: 0 };
        }
    };
    let ledger = &load.ledger;
    let checks = vec![
        shape,
        commands(ledger, &log),
        raw_events(ledger, &log),
        subscribers(ledger, &log),
        caught_up,
        reorders.check(),
    ];
    let mut findings = Findings { checks, events: log.len() as u64 };
    drop(log);
    findings.checks.push(views(load, findings.events).await);
    findings
}

/// The whole log, page by page, checked for its shape on the way into `shape`.
async fn read_log(
    load: &Load,
    shape: &mut Check,
    reorders: &mut Reorders,
) -> Result<Vec<Entry>, String> {
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
            reorders.see(event);
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
            && !entry.by_reaction
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

/// Waits until the server's reorder reaction has handled the whole log, once the load has
/// stopped; whether it did, and the head then.
pub async fn caught_up(load: &Load) -> (Check, u64) {
    let mut check = Check::new("the reorder reaction caught up with the log");
    let mut rng = Rng::new();
    let started = Instant::now();
    loop {
        let (lag, head) = match load.until_answered(&mut rng, "GET", "/v1/reactions", None).await {
            Ok(list) => (
                list["reactions"]
                    .as_array()
                    .and_then(|all| all.iter().find(|r| r["name"] == "reorder"))
                    .and_then(|r| r["lag"].as_u64()),
                list["head"].as_u64().unwrap_or(0),
            ),
            Err(err) => {
                check.wrong(err);
                return (check, 0);
            }
        };
        if lag == Some(0) {
            return (check, head);
        }
        if started.elapsed() > SETTLE {
            check.wrong(format!("still {lag:?} events behind after {SETTLE:?}"));
            return (check, head);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The reorder reaction's requests against the log: the events that took a site from at or
/// above its item's reorder level to below it, and the causes the requests name.
#[derive(Default)]
pub struct Reorders {
    levels: HashMap<String, (i64, bool)>,
    held: HashMap<(String, String), i64>,
    crossings: HashSet<String>,
    requested: HashMap<String, usize>,
}

impl Reorders {
    /// Folds the next event of the log.
    fn see(&mut self, event: &Value) {
        let stream = event["stream"].as_str().unwrap_or_default().to_owned();
        let data = &event["data"];
        let int = |field: &str| data[field].as_i64().unwrap_or(0);
        let site = data["site"].as_str().unwrap_or_default().to_owned();
        let before = self.held.get(&(stream.clone(), site.clone())).copied().unwrap_or(0);
        let after = match event["type"].as_str().unwrap_or_default() {
            "ItemAdded" => {
                self.levels.insert(stream, (int("reorder_level"), false));
                return;
            }
            "ItemRetired" => {
                self.levels.entry(stream).or_default().1 = true;
                return;
            }
            "ReorderRequested" => {
                let cause = event["meta"]["causation"].as_str().unwrap_or("(none)");
                *self.requested.entry(cause.to_owned()).or_default() += 1;
                return;
            }
            "StockReceived" => before.saturating_add(int("qty")),
            "StockConsumed" => before.saturating_sub(int("qty")),
            "StockCounted" => int("counted"),
            _ => return,
        };
        let (level, retired) = self.levels.get(&stream).copied().unwrap_or_default();
        if event["type"] != "StockReceived" && !retired && before >= level && after < level {
            self.crossings.insert(event["id"].as_str().unwrap_or_default().to_owned());
        }
        self.held.insert((stream, site), after);
    }

    /// One request per crossing, naming it as its cause, and no other.
    fn check(&self) -> Check {
        let mut check = Check::new(format!(
            "one reorder request for each of the {} crossings of a reorder level, and no other",
            self.crossings.len()
        ));
        for crossing in &self.crossings {
            let found = self.requested.get(crossing).copied().unwrap_or(0);
            if found != 1 {
                check.wrong(format!("the crossing {crossing} has {found} reorder requests"));
            }
        }
        for cause in self.requested.keys() {
            if !self.crossings.contains(cause) {
                check.wrong(format!("a reorder request names {cause}, which crossed no level"));
            }
        }
        check
    }
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

    #[test]
    fn a_missing_doubled_or_causeless_reorder_request_is_found() {
        let typed = |id: &str, kind: &str, data: Value| json!({ "id": id, "stream": "item-a", "type": kind, "data": data, "meta": {} });
        let request = |cause: &str| {
            json!({ "id": format!("r-{cause}"), "stream": "item-a", "type": "ReorderRequested",
                "data": { "site": "north" }, "meta": { "causation": cause } })
        };
        let log = [
            typed("add", "ItemAdded", json!({ "reorder_level": 5 })),
            typed("in", "StockReceived", json!({ "site": "north", "qty": 8 })),
            typed("down", "StockConsumed", json!({ "site": "north", "qty": 4 })), // 8 to 4
            typed("lower", "StockConsumed", json!({ "site": "north", "qty": 1 })), // was below
            typed("count", "StockCounted", json!({ "site": "north", "counted": 9 })),
            typed("again", "StockCounted", json!({ "site": "north", "counted": 2 })), // 9 to 2
        ];
        let wrong = |requests: &[&str]| {
            let mut reorders = Reorders::default();
            for event in log.iter().cloned().chain(requests.iter().map(|c| request(c))) {
                reorders.see(&event);
            }
            reorders.check().wrong.len()
        };
        assert_eq!(wrong(&["down", "again"]), 0);
        assert_eq!(wrong(&["down"]), 1, "a crossing without its request");
        assert_eq!(wrong(&["down", "again", "again"]), 1, "a crossing with two");
        assert_eq!(wrong(&["down", "again", "lower"]), 1, "a request for no crossing");
    }
}
