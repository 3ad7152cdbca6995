//! The mixed load: clients pushing commands, each batch sent until it is answered (and some
//! sent again after their answer, as a client whose answer was lost does); raw appends sent
//! the same way; subscribers that join at a random position, follow the log across server
//! deaths, and drop.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use annals_core::Uuid;
use annals_server::testing::{EventStream, command, error_code, position};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::Rng;
use crate::nodes::Nodes;

/// The longest a request may go unanswered (every node down, the database away) before the
/// soak counts it a failure.
const STUCK: Duration = Duration::from_secs(120);
/// The longest one request may take once a node has it.
const ONE_REQUEST: Duration = Duration::from_secs(30);
/// Sites stock is moved at.
const SITES: [&str; 3] = ["north", "south", "harbour"];

/// What the load shares.
pub struct Load {
    /// The nodes it talks to.
    pub nodes: Nodes,
    /// What the servers answered.
    pub ledger: Ledger,
    /// Items added so far.
    items: Mutex<Vec<Uuid>>,
    /// Set when the soak's time is up: clients finish the batch they have and stop.
    stopping: AtomicBool,
    /// The log's head once the load has stopped, for subscribers to reach.
    head: watch::Sender<Option<u64>>,
}

/// Counts of what the load went through.
#[derive(Default)]
pub struct Counts {
    /// Requests sent again after a 503.
    pub unavailable: AtomicU64,
    /// Requests sent again after the connection failed or was cut.
    pub cut: AtomicU64,
    /// Batches sent again after they were answered.
    pub resent: AtomicU64,
    /// Subscriptions opened again after the server went away.
    pub resubscribed: AtomicU64,
}

/// What the servers answered, to audit the log against.
#[derive(Default)]
pub struct Ledger {
    /// Each command's answer, by command id.
    pub commands: Mutex<HashMap<String, Answer>>,
    /// Each raw event's position, by event id.
    pub raw: Mutex<HashMap<String, u64>>,
    /// The highest position any answer named.
    pub highest: AtomicU64,
    /// What went wrong during the run.
    pub failures: Mutex<Vec<String>>,
    /// Every subscription session that ended.
    pub sessions: Mutex<Vec<Session>>,
    /// Retries and reconnections.
    pub counts: Counts,
}

impl Ledger {
    /// Notes a failure.
    pub fn fail(&self, what: String) {
        eprintln!("soak failure: {what}");
        self.failures.lock().expect("failures").push(what);
    }

    fn saw(&self, position: u64) {
        self.highest.fetch_max(position, Ordering::Relaxed);
    }

    /// Records a push's results; an answer that differs from an earlier one for the same
    /// command is a failure.
    fn record_commands(&self, reply: &Value) {
        let Some(results) = reply["results"].as_array() else {
            return self.fail(format!("a push was answered without results: {reply}"));
        };
        let mut commands = self.commands.lock().expect("commands");
        for result in results {
            let id = result["id"].as_str().unwrap_or_default().to_owned();
            let events: Vec<Seen> =
                result["events"].as_array().into_iter().flatten().map(Seen::of).collect();
            for event in &events {
                self.saw(event.position);
            }
            let accepted = result["status"] == "accepted";
            let answer = Answer { accepted, events, digest: digest(result) };
            if let Some(before) = commands.insert(id.clone(), answer)
                && before.digest != digest(result)
            {
                drop(commands);
                return self.fail(format!("command {id} was answered two ways, then {result}"));
            }
        }
    }

    /// Records a raw append's positions; an answer that differs from an earlier one for the
    /// same events is a failure.
    fn record_raw(&self, ids: &[String], reply: &Value) {
        let positions: Vec<u64> =
            reply["positions"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
        if positions.len() != ids.len() {
            return self.fail(format!("{} raw events were answered {reply}", ids.len()));
        }
        let mut raw = self.raw.lock().expect("raw events");
        for (id, at) in ids.iter().zip(positions) {
            self.saw(at);
            if let Some(before) = raw.insert(id.clone(), at)
                && before != at
            {
                drop(raw);
                return self.fail(format!("raw event {id} was placed at {before} and then {at}"));
            }
        }
    }
}

/// An envelope as the audit keeps it: its position and a digest of all of it (a long soak
/// sees millions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its position in the log.
    pub position: u64,
    /// A digest of its JSON.
    pub digest: u64,
}

impl Seen {
    /// What the audit keeps of `envelope`.
    pub fn of(envelope: &Value) -> Seen {
        Seen { position: position(envelope), digest: digest(envelope) }
    }
}

/// A digest of a JSON value (object keys are in order, so equal values have equal digests).
pub fn digest(value: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish()
}

/// A command's answer as the audit keeps it.
pub struct Answer {
    /// Accepted, rather than refused by the rules.
    pub accepted: bool,
    /// Its events.
    pub events: Vec<Seen>,
    /// A digest of the whole answer, to compare it with another answer for the command.
    pub digest: u64,
}

/// One subscriber's time on the stream: where it joined and what it was given.
pub struct Session {
    /// The position it subscribed after.
    pub after: u64,
    /// Every envelope delivered, across reconnections.
    pub delivered: Vec<Seen>,
    /// Whether it stayed until the load stopped and was to reach the final head.
    pub to_the_end: bool,
}

impl Load {
    /// A load on `nodes`.
    pub fn new(nodes: Nodes) -> Load {
        Load {
            nodes,
            ledger: Ledger::default(),
            items: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            head: watch::Sender::new(None),
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Tells clients to finish the batch they have and stop.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Tells subscribers the log's final head.
    pub fn finished_at(&self, head: u64) {
        self.head.send_replace(Some(head));
    }

    /// Items added so far.
    pub fn items(&self) -> usize {
        self.items.lock().expect("items").len()
    }

    /// Sends a request until a node answers it 200 (a 503 or a lost connection is sent again,
    /// to any node, as a client does) and returns the answer; any other answer, or none for
    /// [`STUCK`], is a failure.
    pub async fn until_answered(
        &self,
        rng: &mut Rng,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, String> {
        let started = Instant::now();
        let counts = &self.ledger.counts;
        loop {
            if started.elapsed() > STUCK {
                return Err(format!("{method} {path} got no answer in {STUCK:?}"));
            }
            let Some(api) = self.nodes.pick(rng) else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let sent = tokio::time::timeout(ONE_REQUEST, api.try_send(method, path, &[], body));
            match sent.await {
                Err(_) => return Err(format!("{method} {path} took over {ONE_REQUEST:?}")),
                Ok(Ok(reply)) if reply.status == 200 => return Ok(reply.json()),
                Ok(Ok(reply)) if reply.status == 503 => {
                    let Some(retry) = reply.header("retry-after").and_then(|v| v.parse().ok())
                    else {
                        return Err(format!("a 503 without Retry-After: {}", reply.text()));
                    };
                    if !error_code(&reply).starts_with("database_") {
                        return Err(format!("{method} {path}: 503 {}", reply.text()));
                    }
                    counts.unavailable.fetch_add(1, Ordering::Relaxed);
                    let wait = Duration::from_secs(retry).min(Duration::from_millis(500));
                    tokio::time::sleep(wait).await;
                }
                Ok(Ok(reply)) => {
                    return Err(format!("{method} {path}: {} {}", reply.status, reply.text()));
                }
                Ok(Err(_)) => {
                    counts.cut.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Adds the first items, so the clients have stock to move.
    pub async fn setup(&self, count: usize) -> Result<(), String> {
        let mut rng = Rng::new();
        let items: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
        let adds: Vec<Value> = items.iter().map(|item| add_item(*item)).collect();
        let body = json!({ "commands": adds }).to_string();
        let reply = self.until_answered(&mut rng, "POST", "/v1/commands", Some(body.as_bytes()));
        self.ledger.record_commands(&reply.await?);
        self.items.lock().expect("items").extend(items);
        Ok(())
    }

    fn random_item(&self, rng: &mut Rng) -> Uuid {
        let items = self.items.lock().expect("items");
        items[rng.below(items.len() as u64) as usize]
    }

    /// Pushes batches of one to five commands until the soak stops: mostly stock received
    /// and consumed (some consumptions are refused for want of stock), now and then a new
    /// item; one batch in ten is sent again after its answer.
    pub async fn pusher(&self) {
        let mut rng = Rng::new();
        while !self.stopping() {
            let mut added = Vec::new();
            let batch: Vec<Value> = (0..1 + rng.below(5))
                .map(|_| {
                    if rng.below(40) == 0 {
                        let item = Uuid::new_v4();
                        added.push(item);
                        return add_item(item);
                    }
                    let item = self.random_item(&mut rng);
                    let site = SITES[rng.below(SITES.len() as u64) as usize];
                    let qty = 1 + rng.below(9);
                    let kind = if rng.below(5) < 2 { "ConsumeStock" } else { "ReceiveStock" };
                    command(kind, json!({ "item": item, "site": site, "qty": qty }))
                })
                .collect();
            let body = json!({ "commands": batch }).to_string();
            let sends = if rng.below(10) == 0 { 2 } else { 1 };
            for send in 0..sends {
                let path = "/v1/commands";
                match self.until_answered(&mut rng, "POST", path, Some(body.as_bytes())).await {
                    Ok(reply) => self.ledger.record_commands(&reply),
                    Err(failure) => return self.ledger.fail(failure),
                }
                if send > 0 {
                    self.ledger.counts.resent.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.items.lock().expect("items").extend(added);
        }
    }

    /// Appends one to three raw `StockReceived` events to an item at a time, each append
    /// sent until answered, one in ten sent again after its answer.
    pub async fn appender(&self) {
        let mut rng = Rng::new();
        while !self.stopping() {
            let item = self.random_item(&mut rng);
            let ids: Vec<String> =
                (0..1 + rng.below(3)).map(|_| Uuid::new_v4().to_string()).collect();
            let events: Vec<Value> = ids
                .iter()
                .map(|id| {
                    let site = SITES[rng.below(SITES.len() as u64) as usize];
                    let data = json!({ "site": site, "qty": 1 + rng.below(4) });
                    json!({ "id": id, "type": "StockReceived", "data": data })
                })
                .collect();
            let body = json!({ "expected_version": "any", "events": events }).to_string();
            let path = format!("/v1/streams/item-{item}/events");
            let sends = if rng.below(10) == 0 { 2 } else { 1 };
            for send in 0..sends {
                match self.until_answered(&mut rng, "POST", &path, Some(body.as_bytes())).await {
                    Ok(reply) => self.ledger.record_raw(&ids, &reply),
                    Err(failure) => return self.ledger.fail(failure),
                }
                if send > 0 {
                    self.ledger.counts.resent.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(Duration::from_millis(20 + rng.below(80))).await;
        }
    }

    /// Keeps `count` subscribers on the log until the soak stops, each joining at a random
    /// position at or before the highest seen and staying 5 to 40 seconds; then waits for
    /// the last ones to reach the final head.
    pub async fn subscribers(self: Arc<Self>, count: usize) {
        let mut rng = Rng::new();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < count && !self.stopping() {
                let after = rng.below(self.ledger.highest.load(Ordering::Relaxed) + 1);
                let stay = Duration::from_secs(5 + rng.below(36));
                running.spawn(self.clone().follow(after, Instant::now() + stay));
            }
            let ended = tokio::time::timeout(Duration::from_millis(500), running.join_next());
            match ended.await {
                Ok(Some(Ok(session))) => {
                    self.ledger.sessions.lock().expect("sessions").push(session)
                }
                Ok(Some(Err(err))) => self.ledger.fail(format!("a subscriber panicked: {err}")),
                Ok(None) if self.stopping() => return,
                Ok(None) | Err(_) => {}
            }
        }
    }

    /// One subscriber: subscribes after `after`, and whenever its server goes away, again
    /// after the last position it was given, to any node; leaves at `leave`, or once the
    /// load has stopped when it has the final head (or after [`STUCK`] without it).
    async fn follow(self: Arc<Self>, after: u64, leave: Instant) -> Session {
        let mut rng = Rng::new();
        let mut session = Session { after, delivered: Vec::new(), to_the_end: false };
        let mut reader: Option<mpsc::Receiver<Option<Value>>> = None;
        let mut finish_by = None;
        loop {
            let last = session.delivered.last().map_or(after, |seen| seen.position);
            if self.stopping() {
                session.to_the_end = true;
                let deadline = *finish_by.get_or_insert_with(|| Instant::now() + STUCK);
                if self.head.borrow().is_some_and(|head| last >= head) || Instant::now() > deadline
                {
                    return session;
                }
            } else if Instant::now() >= leave {
                return session;
            }
            let Some(events) = reader.as_mut() else {
                match self.subscribe(&mut rng, last).await {
                    Ok(Some(opened)) => reader = Some(opened),
                    Ok(None) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(failure) => {
                        self.ledger.fail(failure);
                        return session;
                    }
                }
                continue;
            };
            match tokio::time::timeout(Duration::from_millis(250), events.recv()).await {
                Err(_) => {}
                Ok(Some(Some(envelope))) => session.delivered.push(Seen::of(&envelope)),
                Ok(Some(None)) | Ok(None) => {
                    self.ledger.counts.resubscribed.fetch_add(1, Ordering::Relaxed);
                    reader = None;
                }
            }
        }
    }

    /// Opens a subscription after `last` on a node that is up, read by a task of its own
    /// into a channel (`None` once the stream ends or breaks); `Ok(None)` to try again later.
    async fn subscribe(
        &self,
        rng: &mut Rng,
        last: u64,
    ) -> Result<Option<mpsc::Receiver<Option<Value>>>, String> {
        let Some(api) = self.nodes.pick(rng) else { return Ok(None) };
        let path = format!("/v1/subscribe?after={last}");
        let stream = match EventStream::open(api.addr(), &path, &[]).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(reply)) if reply.status == 503 => return Ok(None),
            Ok(Err(reply)) => return Err(format!("{path}: {} {}", reply.status, reply.text())),
            Err(_) => return Ok(None),
        };
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(read_stream(stream, sender));
        Ok(Some(receiver))
    }
}

/// Forwards a subscription's envelopes until it ends, breaks or nobody listens.
async fn read_stream(mut stream: EventStream, sender: mpsc::Sender<Option<Value>>) {
    loop {
        let envelope = match stream.next().await {
            Ok(Some(event)) => serde_json::from_str::<Value>(&event.data).ok(),
            Ok(None) | Err(_) => None,
        };
        let ended = envelope.is_none();
        if sender.send(envelope).await.is_err() || ended {
            return;
        }
    }
}

/// `AddItem` of a new item.
fn add_item(item: Uuid) -> Value {
    command("AddItem", json!({ "item": item, "name": "Flour", "unit": "kg", "reorder_level": 5 }))
}
