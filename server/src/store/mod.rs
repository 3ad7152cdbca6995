//! Storage: one trait, two backends (SQLite embedded, PostgreSQL at scale), a module each.
//!
//! Writes go through a single writer per process that groups concurrent requests into one
//! transaction per tenant ("group commit"); inside it the [`engine`](crate::engine) decides
//! commands with annals-core against state read under the tenant's lock, so positions are
//! assigned in commit order with no gaps, and read models change in the same transaction.
//!
//! When the database fails, the error says how ([`Fault`]: unreachable, full, read-only,
//! locked); the parts of a store that hold connections make them again by themselves with
//! backoff, and [`Health`] tells readiness which parts are down meanwhile.

mod error;
mod health;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod reactions;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use error::{Fault, StoreError, panic_text};
pub(crate) use health::Backoff;
pub use health::{Health, Part};

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use annals_core::json::{push_string, push_unsigned};
use annals_core::protocol::{AppendRequest, CommandRequest};
use annals_core::{Position, Uuid, Version};
use serde_json::value::RawValue;
use tokio::sync::watch;

/// A boxed future, so [`Store`] can live behind `Arc<dyn Store>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Refuses a database whose recorded schema version, `recorded`, is newer than `known`, the
/// number of migrations this code embeds: it was migrated by a newer annals-server, and this
/// one would misread it or write what the newer one cannot read.
pub(crate) fn refuse_newer_schema(recorded: u64, known: usize) -> Result<(), StoreError> {
    if recorded > known as u64 {
        return Err(StoreError::failed(format!(
            "the database is at schema {recorded}, this annals-server knows schema {known}: \
             upgrade annals-server"
        )));
    }
    Ok(())
}

/// A position or version a caller asked about, as an SQL integer. Both databases store them
/// as signed 64-bit integers, so nothing lies beyond `i64::MAX` and larger values read the same.
pub(crate) fn sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Versions to search, as inclusive SQL bounds: every version when `None`.
pub(crate) fn version_bounds(versions: Option<RangeInclusive<Version>>) -> (i64, i64) {
    versions.map_or((0, i64::MAX), |v| (sql_integer(*v.start()), sql_integer(*v.end())))
}

/// One stored event, its payload and metadata kept as the JSON text they were written as.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Global position within the tenant's log.
    pub position: Position,
    /// The stream.
    pub stream: String,
    /// The stream version after it.
    pub version: Version,
    /// The event id.
    pub id: Uuid,
    /// The event type.
    pub event_type: String,
    /// The payload's schema.
    pub schema: u32,
    /// The payload, JSON text.
    pub data: String,
    /// The metadata, JSON text.
    pub meta: String,
}

impl EventRow {
    /// The envelope's wire JSON, written straight from the stored text without re-parsing it.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160 + self.data.len() + self.meta.len());
        self.write_json(&mut out);
        out
    }

    /// Appends the envelope's wire JSON to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str(r#"{"id":""#);
        out.push_str(self.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
        out.push_str(r#"","stream":"#);
        push_string(out, &self.stream);
        out.push_str(r#","version":"#);
        push_unsigned(out, self.version);
        out.push_str(r#","position":"#);
        push_unsigned(out, self.position);
        out.push_str(r#","type":"#);
        push_string(out, &self.event_type);
        out.push_str(r#","schema":"#);
        push_unsigned(out, u64::from(self.schema));
        out.push_str(r#","data":"#);
        out.push_str(&self.data);
        out.push_str(r#","meta":"#);
        out.push_str(&self.meta);
        out.push('}');
    }
}

/// A stream's stored state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStream {
    /// The version it reflects.
    pub version: Version,
    /// The reducer version that folded it.
    pub state_version: u32,
    /// The state, JSON text.
    pub state: String,
}

/// One stored read-model row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowWrite {
    /// The view.
    pub view: &'static str,
    /// The row's key.
    pub key: String,
    /// The row as JSON text, or `None` to delete it.
    pub row: Option<String>,
    /// Whether the row shows in the view's value.
    pub listed: bool,
}

/// Everything one transaction writes for one tenant.
#[derive(Debug, Default)]
pub struct Writes {
    /// The head after the transaction.
    pub head: Position,
    /// New events, in position order.
    pub events: Vec<EventRow>,
    /// Stream states to upsert.
    pub streams: Vec<(String, StoredStream)>,
    /// View rows to upsert or delete.
    pub rows: Vec<RowWrite>,
    /// Views whose position moves to `head`.
    pub views: Vec<(&'static str, u32)>,
    /// Command results to remember, by command id.
    pub results: Vec<(Uuid, String)>,
}

/// The transaction the [`engine`](crate::engine) works in: one tenant, its write lock held.
///
/// Implemented by each backend and driven on that backend's single writer thread, so its
/// futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait WriteTx {
    /// The tenant's head position.
    async fn head(&mut self) -> Result<Position, StoreError>;
    /// Stored results of these command ids, as JSON text.
    async fn results(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError>;
    /// Stored states of these streams.
    async fn streams(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, StoredStream>, StoreError>;
    /// Every event of a stream, in version order (to rebuild a stale state).
    async fn stream_events(&mut self, stream: &str) -> Result<Vec<EventRow>, StoreError>;
    /// Stored rows of one view under these keys, as JSON text.
    async fn rows(
        &mut self,
        view: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError>;
    /// Events of a stream with these ids, in version order, searched among `versions` only
    /// when given, else the whole stream (for idempotent raw appends).
    async fn events_by_id(
        &mut self,
        stream: &str,
        ids: &[Uuid],
        versions: Option<RangeInclusive<Version>>,
    ) -> Result<Vec<EventRow>, StoreError>;
    /// Writes everything, moving the head.
    async fn write(&mut self, writes: &Writes) -> Result<(), StoreError>;
    /// Up to `limit` events after `after`, in position order.
    async fn events_page(
        &mut self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError>;
    /// Replaces every row of these views, stamping them with their version and `position`.
    async fn replace_views(
        &mut self,
        views: &[(&'static str, u32)],
        rows: &[RowWrite],
        position: Position,
    ) -> Result<(), StoreError>;
}

/// How far a long job has come: `done` of `total`, readable from another thread.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Units done.
    pub done: Arc<AtomicU64>,
    /// Units in all.
    pub total: Arc<AtomicU64>,
}

/// A write for the writer thread.
#[derive(Clone, Debug)]
pub enum WriteRequest {
    /// `POST /v1/commands`.
    Commands {
        /// Who sent them.
        actor: String,
        /// When they arrived, milliseconds since the epoch.
        at: i64,
        /// The commands, already checked to decode.
        commands: Vec<CommandRequest>,
    },
    /// `POST /v1/streams/{stream}/events`.
    Append {
        /// Who sent them.
        actor: String,
        /// When they arrived, milliseconds since the epoch.
        at: i64,
        /// The stream.
        stream: String,
        /// The events and the expected version.
        request: AppendRequest,
    },
    /// Rebuild the tenant's read models from its whole log, under its write lock.
    Rebuild {
        /// Events folded so far, of the head.
        progress: Progress,
    },
}

/// The writer's answer.
#[derive(Debug)]
pub enum WriteReply {
    /// One result per command (JSON text of a `CommandResult`), and the head after.
    Commands {
        /// One `CommandResult` per command, as JSON text.
        results: Vec<Box<RawValue>>,
        /// The head after the transaction.
        head: Position,
    },
    /// The raw append's outcome.
    Append(Result<annals_core::protocol::AppendResponse, AppendRefusal>),
    /// How many events the rebuilt views folded.
    Rebuilt {
        /// Events folded.
        events: u64,
    },
}

/// Why a raw append was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum AppendRefusal {
    /// An event did not decode into a known type (400).
    Invalid {
        /// Stable snake_case code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The stream was not at the expected version (409).
    WrongExpectedVersion {
        /// What the caller expected.
        expected: serde_json::Value,
        /// The stream's version.
        actual: Version,
    },
}

/// A page of the log.
#[derive(Debug, Default)]
pub struct LogPage {
    /// Events in position order.
    pub events: Vec<EventRow>,
    /// The tenant's head.
    pub head: Position,
}

/// Which rows of a view to read.
#[derive(Clone, Debug)]
pub enum RowsWanted {
    /// The row under one key.
    Key(String),
    /// Up to `limit` rows in key order, after the key `after` when given.
    Page {
        /// The last key of the previous page.
        after: Option<String>,
        /// How many rows at most.
        limit: u32,
    },
}

/// A stored read model's listed rows, and the position they reflect.
#[derive(Debug, Default)]
pub struct ViewRows {
    /// The position the view reflects.
    pub position: Position,
    /// `(key, row JSON)` pairs, listed rows only.
    pub rows: Vec<(String, String)>,
}

/// A database holding every tenant's log, stream states, read models and command results.
pub trait Store: Send + Sync {
    /// Applies one write in the writer's next transaction and returns its outcome once that
    /// transaction has committed durably.
    fn submit(
        &self,
        tenant: &str,
        request: WriteRequest,
    ) -> BoxFuture<'_, Result<WriteReply, StoreError>>;
    /// Up to `limit` events after `after`, and the head.
    fn events_after(
        &self,
        tenant: &str,
        after: Position,
        limit: u32,
    ) -> BoxFuture<'_, Result<LogPage, StoreError>>;
    /// Up to `limit` events of one stream from version `from`, and the stream's version.
    fn stream_events(
        &self,
        tenant: &str,
        stream: &str,
        from: Version,
        limit: u32,
    ) -> BoxFuture<'_, Result<(Vec<EventRow>, Version), StoreError>>;
    /// A stream's stored state.
    fn stream_state(
        &self,
        tenant: &str,
        stream: &str,
    ) -> BoxFuture<'_, Result<Option<StoredStream>, StoreError>>;
    /// A view's listed rows: a page of them in key order, or the one under a key.
    fn view_rows(
        &self,
        tenant: &str,
        view: &str,
        wanted: RowsWanted,
    ) -> BoxFuture<'_, Result<ViewRows, StoreError>>;
    /// Whether the database answers a read now (reconnecting first if need be).
    fn check(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// How the store's connections are doing: the parts that are down, and reconnections.
    fn health(&self) -> &Health;
    /// Every tenant with a log.
    fn tenants(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
    /// The stored views of a tenant and the reducer versions that wrote them.
    fn view_versions(&self, tenant: &str) -> BoxFuture<'_, Result<Vec<(String, u32)>, StoreError>>;
    /// The tenant's head, updated whenever a transaction commits anywhere (this process or,
    /// for PostgreSQL, another node).
    fn watch(&self, tenant: &str) -> watch::Receiver<Position>;
    /// Up to `limit` events after `after` as envelope JSON, from the events this process
    /// committed last, when they hold the one right after `after`; `None` means "read the
    /// log" (see [`Heads::recent`]).
    fn recent(&self, tenant: &str, after: Position, limit: usize) -> Option<Vec<RecentEvent>>;
    /// A counter that moves whenever any tenant's head does, for consumers of every tenant.
    fn changes(&self) -> watch::Receiver<u64>;
    /// The reactions' checkpoints and parked events, for reading and for operators.
    fn reactions(&self) -> &dyn reactions::Sql;
    /// What claims consumer `name` for this node (see [`reactions::Claimant`]).
    fn claimant(&self, name: &str) -> Box<dyn reactions::Claimant>;
}

/// A tenant's head, as the database has it.
pub async fn head(store: &dyn Store, tenant: &str) -> Result<Position, StoreError> {
    Ok(store.events_after(tenant, Position::MAX, 1).await?.head)
}

/// A write waiting for a backend's writer, with where to send its outcome.
pub(crate) struct Job {
    pub(crate) tenant: String,
    pub(crate) request: WriteRequest,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<WriteReply, StoreError>>,
}

impl Job {
    /// A job for `tenant`, and its answer once `sent` says whether the writer took it: "the
    /// writer has stopped" when it did not, or dropped the job unanswered.
    pub(crate) fn new(
        tenant: &str,
        request: WriteRequest,
    ) -> (Job, impl FnOnce(bool) -> BoxFuture<'static, Result<WriteReply, StoreError>>) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { tenant: tenant.to_owned(), request, reply };
        let answered = move |sent: bool| -> BoxFuture<'static, Result<WriteReply, StoreError>> {
            Box::pin(async move {
                let stopped = || StoreError::failed("the writer has stopped");
                if !sent {
                    return Err(stopped());
                }
                answer.await.map_err(|_| stopped())?
            })
        };
        (job, answered)
    }
}

/// Splits a group of jobs by tenant, in the order each tenant's first job arrived: the writer
/// commits one transaction per tenant.
pub(crate) fn by_tenant(group: Vec<Job>) -> Vec<(String, Vec<Job>)> {
    let mut tenants: Vec<(String, Vec<Job>)> = Vec::new();
    for job in group {
        match tenants.iter_mut().find(|(tenant, _)| *tenant == job.tenant) {
            Some((_, jobs)) => jobs.push(job),
            None => tenants.push((job.tenant.clone(), vec![job])),
        }
    }
    tenants
}

/// What a tenant's transaction did: one reply per job, the head after it, and the events it
/// appended.
pub(crate) struct Committed {
    pub(crate) replies: Vec<WriteReply>,
    pub(crate) head: Position,
    pub(crate) events: Vec<EventRow>,
}

/// Sends every job of a tenant's transaction its outcome; after a commit, publishes its events
/// and moves the tenant's head so subscribers wake.
pub(crate) fn answer(
    heads: &Heads,
    tenant: &str,
    jobs: Vec<Job>,
    outcome: Result<Committed, StoreError>,
) {
    match outcome {
        Ok(committed) => {
            heads.publish(tenant, &committed.events, committed.head);
            for (job, reply) in jobs.into_iter().zip(committed.replies) {
                let _ = job.reply.send(Ok(reply));
            }
        }
        Err(err) => {
            for job in jobs {
                let _ = job.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Most recently committed events a tenant keeps in memory for its subscribers.
const RECENT: usize = 4096;

/// One event as its subscribers receive it: the position and the envelope's wire JSON.
pub type RecentEvent = (Position, Arc<str>);

/// Heads of tenants, shared by a store and its subscribers, with the events committed last
/// through this process, so subscribers that are caught up read new events from memory
/// instead of each querying the database.
pub struct Heads {
    tenants: std::sync::Mutex<HashMap<String, Tenant>>,
    /// Moves with every tenant's head.
    changes: watch::Sender<u64>,
}

impl Default for Heads {
    fn default() -> Self {
        Heads { tenants: std::sync::Mutex::default(), changes: watch::channel(0).0 }
    }
}

struct Tenant {
    head: watch::Sender<Position>,
    /// Consecutive positions, oldest first.
    recent: VecDeque<RecentEvent>,
}

impl Tenant {
    fn new() -> Self {
        Tenant { head: watch::channel(0).0, recent: VecDeque::new() }
    }
}

impl Heads {
    fn tenants(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tenant>> {
        self.tenants.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// A receiver of the tenant's head.
    pub fn watch(&self, tenant: &str) -> watch::Receiver<Position> {
        self.tenants().entry(tenant.to_owned()).or_insert_with(Tenant::new).head.subscribe()
    }

    /// A counter that moves whenever any tenant's head does.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Moves the tenant's head forward, waking its subscribers.
    pub fn advance(&self, tenant: &str, head: Position) {
        self.publish(tenant, &[], head);
    }

    /// Keeps `events`, just committed in position order, for subscribers, then moves the
    /// tenant's head to `head`. Events that do not follow the ones kept (another node or
    /// process wrote in between) start the kept run afresh.
    pub fn publish(&self, tenant: &str, events: &[EventRow], head: Position) {
        let mut tenants = self.tenants();
        let state = tenants.entry(tenant.to_owned()).or_insert_with(Tenant::new);
        if let Some(first) = events.first() {
            let follows = state.recent.back().is_none_or(|(last, _)| last + 1 == first.position);
            if !follows {
                state.recent.clear();
            }
            for event in events {
                state.recent.push_back((event.position, Arc::from(event.to_json())));
            }
            let extra = state.recent.len().saturating_sub(RECENT);
            state.recent.drain(..extra);
        }
        let moved = state.head.send_if_modified(|current| {
            let moved = head > *current;
            *current = (*current).max(head);
            moved
        });
        if moved {
            self.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Up to `limit` kept events after `after`, if the kept run holds the event right after
    /// it; `None` when the log must be read instead.
    pub fn recent(&self, tenant: &str, after: Position, limit: usize) -> Option<Vec<RecentEvent>> {
        let tenants = self.tenants();
        let recent = &tenants.get(tenant)?.recent;
        let (first, _) = recent.front()?;
        let skip = usize::try_from(after.checked_add(1)?.checked_sub(*first)?).ok()?;
        if skip >= recent.len() {
            return None;
        }
        Some(recent.iter().skip(skip).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_row_writes_the_wire_json_of_its_envelope() {
        for stream in ["item-1", "item-\"quoted\"\\n", "item-\u{1}\u{7f}é"] {
            let row = EventRow {
                position: u64::from(u32::MAX) + 7,
                stream: stream.to_owned(),
                version: 0,
                id: Uuid::from_u128(0xA1B2_C3D4),
                event_type: "StockReceived".to_owned(),
                schema: 2,
                data: r#"{"site":"hilltop","qty":3}"#.to_owned(),
                meta: r#"{"command":"c","actor":"a","at":1}"#.to_owned(),
            };
            let written: serde_json::Value =
                serde_json::from_str(&row.to_json()).expect("valid JSON");
            let expected = serde_json::json!({
                "id": "00000000-0000-0000-0000-0000a1b2c3d4",
                "stream": stream,
                "version": 0,
                "position": 4_294_967_302_u64,
                "type": "StockReceived",
                "schema": 2,
                "data": { "site": "hilltop", "qty": 3 },
                "meta": { "command": "c", "actor": "a", "at": 1 },
            });
            assert_eq!(written, expected);
        }
    }

    fn rows(positions: std::ops::RangeInclusive<Position>) -> Vec<EventRow> {
        positions
            .map(|position| EventRow {
                position,
                stream: "item-1".to_owned(),
                version: position,
                id: Uuid::from_u128(u128::from(position)),
                event_type: "StockReceived".to_owned(),
                schema: 1,
                data: "{}".to_owned(),
                meta: "{}".to_owned(),
            })
            .collect()
    }

    fn positions(recent: Option<Vec<RecentEvent>>) -> Option<Vec<Position>> {
        recent.map(|events| events.into_iter().map(|(position, _)| position).collect())
    }

    #[test]
    fn subscribers_read_recent_events_only_when_they_follow_on() {
        let heads = Heads::default();
        let mut head = heads.watch("t");
        assert_eq!(heads.recent("t", 0, 10), None, "nothing kept yet: read the log");
        heads.publish("t", &rows(1..=3), 3);
        assert_eq!(*head.borrow_and_update(), 3);
        assert_eq!(positions(heads.recent("t", 0, 10)), Some(vec![1, 2, 3]));
        assert_eq!(positions(heads.recent("t", 1, 1)), Some(vec![2]));
        assert_eq!(heads.recent("t", 3, 10), None, "past the kept run: read the log");
        assert_eq!(heads.recent("other", 0, 10), None);
        let json = heads.recent("t", 2, 1).expect("kept")[0].1.clone();
        assert_eq!(&*json, rows(3..=3)[0].to_json());

        // Another node wrote 4 and 5: the run kept here starts again at 6.
        heads.advance("t", 5);
        heads.publish("t", &rows(6..=7), 7);
        assert_eq!(*head.borrow_and_update(), 7);
        assert_eq!(heads.recent("t", 3, 10), None, "4 and 5 are only in the log");
        assert_eq!(heads.recent("t", 0, 10), None);
        assert_eq!(positions(heads.recent("t", 5, 10)), Some(vec![6, 7]));

        // The kept run is bounded; the oldest events go first.
        let last = 7 + RECENT as Position;
        heads.publish("t", &rows(8..=last), last);
        assert_eq!(heads.recent("t", 6, 1), None, "7 was let go");
        assert_eq!(positions(heads.recent("t", 7, 1)), Some(vec![8]));
        assert_eq!(positions(heads.recent("t", last - 2, 10)), Some(vec![last - 1, last]));
    }
}
