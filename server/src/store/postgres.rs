//! The scale-out backend: PostgreSQL shared by several server nodes.
//!
//! Each node has one writer that commits groups of requests. Every write transaction first
//! locks its tenant's row in `tenants`, so writers on all nodes assign positions one
//! transaction at a time, in commit order: a rolled-back transaction releases the lock
//! without having used a position, and positions stay gap-free by construction. Each commit
//! sends `NOTIFY annals, '<tenant> <head>'`; every node listens and wakes its subscribers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use annals_core::{Domain, Position, Uuid, Version};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls, Row};

use super::{
    BoxFuture, Committed, EventRow, Heads, Job, LogPage, RecentEvent, RowWrite, RowsWanted, Store,
    StoreError, StoredStream, ViewRows, WriteReply, WriteRequest, WriteTx, Writes, answer,
    by_tenant, refuse_newer_schema, sql_integer,
};
use crate::engine;

/// Most requests the writer folds into one transaction.
const GROUP: usize = 512;
/// Read connections per node.
const READERS: usize = 4;
/// The advisory lock that serialises migrations between nodes starting together.
const MIGRATION_LOCK: i64 = 0x616e_6e61_6c73;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    tenant TEXT PRIMARY KEY,
    head BIGINT NOT NULL
);
CREATE TABLE events (
    tenant TEXT NOT NULL,
    position BIGINT NOT NULL,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    id UUID NOT NULL,
    type TEXT NOT NULL,
    schema INTEGER NOT NULL,
    data TEXT NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (tenant, position)
);
CREATE UNIQUE INDEX events_by_stream ON events (tenant, stream, version);
CREATE INDEX events_by_id ON events (tenant, id);
CREATE TABLE streams (
    tenant TEXT NOT NULL,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    state_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (tenant, stream)
);
CREATE TABLE commands (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE views (
    tenant TEXT NOT NULL,
    view TEXT NOT NULL,
    version INTEGER NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (tenant, view)
);
CREATE TABLE view_rows (
    tenant TEXT NOT NULL,
    view TEXT NOT NULL,
    key TEXT NOT NULL,
    row TEXT NOT NULL,
    listed BOOLEAN NOT NULL,
    PRIMARY KEY (tenant, view, key)
);
"#,
    // Raw appends find retried event ids within their stream (events_by_stream); an index of
    // every event id cost each append a write at a random place.
    "DROP INDEX events_by_id;",
];

/// A PostgreSQL database.
pub struct PostgresStore {
    writer: mpsc::UnboundedSender<Job>,
    readers: Vec<Client>,
    next: AtomicUsize,
    heads: Arc<Heads>,
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::warn!(error = %err, "a postgres connection closed");
        }
    });
    Ok(client)
}

/// Brings the schema up to date, one node at a time. The schema version is the highest
/// `version` in `annals_migrations` (the number of migrations run); a database at a newer
/// one than this code's is refused before anything is written to it.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS annals_migrations (version INTEGER PRIMARY KEY)",
            )
            .await?;
        let row = client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM annals_migrations", &[])
            .await?;
        let done: i32 = row.get(0);
        let done = u64::try_from(done).unwrap_or(0);
        refuse_newer_schema(done, MIGRATIONS.len())?;
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let tx = client.transaction().await?;
            tx.batch_execute(migration).await?;
            tx.execute(
                "INSERT INTO annals_migrations (version) VALUES ($1)",
                &[&(index as i32 + 1)],
            )
            .await?;
            tx.commit().await?;
        }
        Ok::<_, StoreError>(())
    }
    .await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
    result
}

impl PostgresStore {
    /// Connects to `url`, runs migrations, starts the writer for domain `D` and the listener
    /// for other nodes' commits. A database migrated by a newer annals-server is refused.
    /// Must be called inside a tokio runtime.
    pub async fn open<D: Domain>(url: &str) -> Result<Arc<Self>, StoreError> {
        let mut admin = connect(url).await?;
        migrate(&mut admin).await?;
        drop(admin);
        let heads = Arc::new(Heads::default());
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(connect(url).await?);
        }
        let (writer, jobs) = mpsc::unbounded_channel();
        let (ready, started) = oneshot::channel();
        let (writer_url, writer_heads) = (url.to_owned(), heads.clone());
        std::thread::Builder::new()
            .name("annals-postgres-writer".to_owned())
            .spawn(move || write_thread::<D>(writer_url, jobs, writer_heads, ready))
            .map_err(|err| StoreError(format!("cannot start the writer: {err}")))?;
        started.await.map_err(|_| StoreError("the writer did not start".to_owned()))??;
        tokio::spawn(listen(url.to_owned(), heads.clone()));
        Ok(Arc::new(PostgresStore { writer, readers, next: AtomicUsize::new(0), heads }))
    }

    fn reader(&self) -> &Client {
        &self.readers[self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len()]
    }
}

/// Follows `NOTIFY annals` so commits made through any node wake this node's subscribers.
async fn listen(url: String, heads: Arc<Heads>) {
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let (notes, mut incoming) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(note)) => {
                                let _ = notes.send(note.payload().to_owned());
                            }
                            Ok(_) => {}
                            Err(err) => {
                                tracing::warn!(error = %err, "the postgres listener lost its connection");
                                break;
                            }
                        }
                    }
                });
                if client.batch_execute("LISTEN annals").await.is_ok() {
                    while let Some(payload) = incoming.recv().await {
                        if let Some((tenant, head)) = payload.rsplit_once(' ')
                            && let Ok(head) = head.parse()
                        {
                            heads.advance(tenant, head);
                        }
                    }
                }
                driver.abort();
            }
            Err(err) => tracing::warn!(error = %err, "the postgres listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn write_thread<D: Domain>(
    url: String,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    heads: Arc<Heads>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = ready.send(Err(StoreError(format!("cannot start the writer: {err}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let mut client = match connect(&url).await {
            Ok(client) => client,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        while let Some(first) = jobs.recv().await {
            let mut group = vec![first];
            while group.len() < GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            for (tenant, jobs) in by_tenant(group) {
                if client.is_closed() {
                    match connect(&url).await {
                        Ok(fresh) => client = fresh,
                        Err(err) => {
                            answer(&heads, &tenant, jobs, Err(err));
                            continue;
                        }
                    }
                }
                let outcome = commit::<D>(&mut client, &tenant, &jobs).await;
                if let Err(err) = &outcome
                    && jobs.len() > 1
                {
                    // One request's failure must not fail those committed with it: each
                    // again, in a transaction of its own.
                    tracing::warn!(error = %err, requests = jobs.len(), "a group commit failed; committing its requests one by one");
                    for job in jobs {
                        let alone = vec![job];
                        let outcome = commit::<D>(&mut client, &tenant, &alone).await;
                        answer(&heads, &tenant, alone, outcome);
                    }
                    continue;
                }
                answer(&heads, &tenant, jobs, outcome);
            }
        }
    });
}

async fn commit<D: Domain>(
    client: &mut Client,
    tenant: &str,
    jobs: &[Job],
) -> Result<Committed, StoreError> {
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO tenants (tenant, head) VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING",
        &[&tenant],
    )
    .await?;
    // The tenant's write lock, held until commit: one writer at a time per tenant, on every
    // node, so positions are assigned in commit order.
    let row =
        tx.query_one("SELECT head FROM tenants WHERE tenant = $1 FOR UPDATE", &[&tenant]).await?;
    let head = row.get::<_, i64>(0) as Position;
    let mut write = PostgresTx { tx: &tx, tenant, head, events: Vec::new() };
    let requests: Vec<&WriteRequest> = jobs.iter().map(|job| &job.request).collect();
    let replies = engine::apply_all::<D, _>(&mut write, &requests).await?;
    let PostgresTx { head, events, .. } = write;
    tx.execute("SELECT pg_notify('annals', $1)", &[&format!("{tenant} {head}")]).await?;
    tx.commit().await?;
    Ok(Committed { replies, head, events })
}

struct PostgresTx<'a> {
    tx: &'a tokio_postgres::Transaction<'a>,
    tenant: &'a str,
    head: Position,
    /// The events written so far, for subscribers once committed.
    events: Vec<EventRow>,
}

const EVENT_COLUMNS: &str = "position, stream, version, id, type, schema, data, meta";

fn event_row(row: &Row) -> EventRow {
    EventRow {
        position: row.get::<_, i64>(0) as Position,
        stream: row.get(1),
        version: row.get::<_, i64>(2) as Version,
        id: Uuid::from_bytes(*row.get::<_, UuidBytes>(3).0.as_bytes()),
        event_type: row.get(4),
        schema: row.get::<_, i32>(5) as u32,
        data: row.get(6),
        meta: row.get(7),
    }
}

/// A UUID column, read without the postgres `with-uuid` feature.
struct UuidBytes(Uuid);

impl<'a> tokio_postgres::types::FromSql<'a> for UuidBytes {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(UuidBytes(Uuid::from_slice(raw)?))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::UUID
    }
}

fn ids_text(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

impl WriteTx for PostgresTx<'_> {
    async fn events_page(
        &mut self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND position > $2 \
                     ORDER BY position LIMIT $3"
                ),
                &[&self.tenant, &(after as i64), &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn replace_views(
        &mut self,
        views: &[(&'static str, u32)],
        rows: &[RowWrite],
        position: Position,
    ) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        for (view, version) in views {
            tx.execute("DELETE FROM view_rows WHERE tenant = $1 AND view = $2", &[&tenant, view])
                .await?;
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                &[&tenant, view, &(*version as i32), &(position as i64)],
            )
            .await?;
        }
        for chunk in rows.chunks(10_000) {
            let views: Vec<&str> = chunk.iter().map(|r| r.view).collect();
            let keys: Vec<&str> = chunk.iter().map(|r| r.key.as_str()).collect();
            let values: Vec<&str> = chunk.iter().filter_map(|r| r.row.as_deref()).collect();
            let listed: Vec<bool> = chunk.iter().map(|r| r.listed).collect();
            tx.execute(
                "INSERT INTO view_rows (tenant, view, key, row, listed) \
                 SELECT $1, v, k, r, l FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bool[]) \
                 AS x(v, k, r, l)",
                &[&tenant, &views, &keys, &values, &listed],
            )
            .await?;
        }
        Ok(())
    }

    async fn head(&mut self) -> Result<Position, StoreError> {
        Ok(self.head)
    }

    // Lookups by a list of keys go one key at a time through the primary key: a LATERAL
    // subquery that `OFFSET 0` keeps the planner from flattening. With `key = ANY($n)` a
    // database without statistics yet (a new one) filtered whole views and stream tables.
    async fn results(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT c.id::text, c.result FROM unnest($2::text[]::uuid[]) AS k(id) \
                 CROSS JOIN LATERAL (SELECT id, result FROM commands \
                 WHERE tenant = $1 AND id = k.id OFFSET 0) AS c",
                &[&self.tenant, &ids_text(ids)],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| Some((Uuid::parse_str(row.get(0)).ok()?, row.get(1))))
            .collect())
    }

    async fn streams(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, StoredStream>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT s.stream, s.version, s.state_version, s.state \
                 FROM unnest($2::text[]) AS k(stream) \
                 CROSS JOIN LATERAL (SELECT stream, version, state_version, state FROM streams \
                 WHERE tenant = $1 AND stream = k.stream OFFSET 0) AS s",
                &[&self.tenant, &names],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), stored_stream(row, 1))).collect())
    }

    async fn stream_events(&mut self, stream: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                     ORDER BY version"
                ),
                &[&self.tenant, &stream],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn rows(
        &mut self,
        view: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT r.key, r.row FROM unnest($3::text[]) AS k(key) \
                 CROSS JOIN LATERAL (SELECT key, row FROM view_rows \
                 WHERE tenant = $1 AND view = $2 AND key = k.key OFFSET 0) AS r",
                &[&self.tenant, &view, &keys],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    async fn events_by_id(
        &mut self,
        stream: &str,
        ids: &[Uuid],
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                     AND id = ANY($3::text[]::uuid[]) ORDER BY position"
                ),
                &[&self.tenant, &stream, &ids_text(ids)],
            )
            .await?;
        Ok(rows.iter().map(event_row).collect())
    }

    async fn write(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        self.events.extend(writes.events.iter().cloned());
        if !writes.events.is_empty() {
            let e = &writes.events;
            let positions: Vec<i64> = e.iter().map(|e| e.position as i64).collect();
            let streams: Vec<&str> = e.iter().map(|e| e.stream.as_str()).collect();
            let versions: Vec<i64> = e.iter().map(|e| e.version as i64).collect();
            let ids: Vec<String> = e.iter().map(|e| e.id.to_string()).collect();
            let types: Vec<&str> = e.iter().map(|e| e.event_type.as_str()).collect();
            let schemas: Vec<i32> = e.iter().map(|e| e.schema as i32).collect();
            let data: Vec<&str> = e.iter().map(|e| e.data.as_str()).collect();
            let meta: Vec<&str> = e.iter().map(|e| e.meta.as_str()).collect();
            tx.execute(
                "INSERT INTO events (tenant, position, stream, version, id, type, schema, data, meta) \
                 SELECT $1, p, s, v, i::uuid, t, sc, d, m FROM UNNEST($2::bigint[], $3::text[], \
                 $4::bigint[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[]) \
                 AS x(p, s, v, i, t, sc, d, m)",
                &[&tenant, &positions, &streams, &versions, &ids, &types, &schemas, &data, &meta],
            )
            .await?;
        }
        if !writes.streams.is_empty() {
            let names: Vec<&str> = writes.streams.iter().map(|(n, _)| n.as_str()).collect();
            let versions: Vec<i64> = writes.streams.iter().map(|(_, s)| s.version as i64).collect();
            let reducers: Vec<i32> =
                writes.streams.iter().map(|(_, s)| s.state_version as i32).collect();
            let states: Vec<&str> = writes.streams.iter().map(|(_, s)| s.state.as_str()).collect();
            tx.execute(
                "INSERT INTO streams (tenant, stream, version, state_version, state) \
                 SELECT $1, s, v, r, st FROM UNNEST($2::text[], $3::bigint[], $4::int[], $5::text[]) \
                 AS x(s, v, r, st) ON CONFLICT (tenant, stream) DO UPDATE SET \
                 version = excluded.version, state_version = excluded.state_version, state = excluded.state",
                &[&tenant, &names, &versions, &reducers, &states],
            )
            .await?;
        }
        let (kept, gone): (Vec<_>, Vec<_>) = writes.rows.iter().partition(|r| r.row.is_some());
        if !kept.is_empty() {
            let views: Vec<&str> = kept.iter().map(|r| r.view).collect();
            let keys: Vec<&str> = kept.iter().map(|r| r.key.as_str()).collect();
            let rows: Vec<&str> = kept.iter().filter_map(|r| r.row.as_deref()).collect();
            let listed: Vec<bool> = kept.iter().map(|r| r.listed).collect();
            tx.execute(
                "INSERT INTO view_rows (tenant, view, key, row, listed) \
                 SELECT $1, v, k, r, l FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bool[]) \
                 AS x(v, k, r, l) ON CONFLICT (tenant, view, key) DO UPDATE SET \
                 row = excluded.row, listed = excluded.listed",
                &[&tenant, &views, &keys, &rows, &listed],
            )
            .await?;
        }
        for r in gone {
            tx.execute(
                "DELETE FROM view_rows WHERE tenant = $1 AND view = $2 AND key = $3",
                &[&tenant, &r.view, &r.key],
            )
            .await?;
        }
        if !writes.views.is_empty() {
            let names: Vec<&str> = writes.views.iter().map(|(v, _)| *v).collect();
            let versions: Vec<i32> = writes.views.iter().map(|(_, v)| *v as i32).collect();
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) \
                 SELECT $1, v, n, $4 FROM UNNEST($2::text[], $3::int[]) AS x(v, n) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                &[&tenant, &names, &versions, &(writes.head as i64)],
            )
            .await?;
        }
        if !writes.results.is_empty() {
            let ids: Vec<String> = writes.results.iter().map(|(id, _)| id.to_string()).collect();
            let results: Vec<&str> = writes.results.iter().map(|(_, r)| r.as_str()).collect();
            tx.execute(
                "INSERT INTO commands (tenant, id, result) \
                 SELECT $1, i::uuid, r FROM UNNEST($2::text[], $3::text[]) AS x(i, r) \
                 ON CONFLICT (tenant, id) DO NOTHING",
                &[&tenant, &ids, &results],
            )
            .await?;
        }
        tx.execute(
            "UPDATE tenants SET head = $2 WHERE tenant = $1",
            &[&tenant, &(writes.head as i64)],
        )
        .await?;
        self.head = writes.head;
        Ok(())
    }
}

fn stored_stream(row: &Row, first: usize) -> StoredStream {
    StoredStream {
        version: row.get::<_, i64>(first) as Version,
        state_version: row.get::<_, i32>(first + 1) as u32,
        state: row.get(first + 2),
    }
}

impl Store for PostgresStore {
    fn submit(
        &self,
        tenant: &str,
        request: WriteRequest,
    ) -> BoxFuture<'_, Result<WriteReply, StoreError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.writer.send(Job { tenant: tenant.to_owned(), request, reply });
        Box::pin(async move {
            sent.map_err(|_| StoreError("the writer has stopped".to_owned()))?;
            answer.await.map_err(|_| StoreError("the writer has stopped".to_owned()))?
        })
    }

    fn events_after(
        &self,
        tenant: &str,
        after: Position,
        limit: u32,
    ) -> BoxFuture<'_, Result<LogPage, StoreError>> {
        let tenant = tenant.to_owned();
        Box::pin(async move {
            // One statement, one snapshot: the head is never behind the events returned.
            let rows = self
                .reader()
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS}, (SELECT head FROM tenants WHERE tenant = $1) \
                         FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3"
                    ),
                    &[&tenant, &sql_integer(after), &(limit as i64)],
                )
                .await?;
            let head = match rows.first() {
                Some(row) => row.get::<_, Option<i64>>(8).unwrap_or(0) as Position,
                None => {
                    let row = self
                        .reader()
                        .query_opt("SELECT head FROM tenants WHERE tenant = $1", &[&tenant])
                        .await?;
                    row.map_or(0, |row| row.get::<_, i64>(0) as Position)
                }
            };
            Ok(LogPage { events: rows.iter().map(event_row).collect(), head })
        })
    }

    fn stream_events(
        &self,
        tenant: &str,
        stream: &str,
        from: Version,
        limit: u32,
    ) -> BoxFuture<'_, Result<(Vec<EventRow>, Version), StoreError>> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        Box::pin(async move {
            let rows = self
                .reader()
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                         AND version >= $3 ORDER BY version LIMIT $4"
                    ),
                    &[&tenant, &stream, &sql_integer(from), &(limit as i64)],
                )
                .await?;
            let version = self
                .reader()
                .query_opt(
                    "SELECT version FROM streams WHERE tenant = $1 AND stream = $2",
                    &[&tenant, &stream],
                )
                .await?
                .map_or(0, |row| row.get::<_, i64>(0) as Version);
            Ok((rows.iter().map(event_row).collect(), version))
        })
    }

    fn stream_state(
        &self,
        tenant: &str,
        stream: &str,
    ) -> BoxFuture<'_, Result<Option<StoredStream>, StoreError>> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        Box::pin(async move {
            let row = self
                .reader()
                .query_opt(
                    "SELECT version, state_version, state FROM streams WHERE tenant = $1 AND stream = $2",
                    &[&tenant, &stream],
                )
                .await?;
            Ok(row.map(|row| stored_stream(&row, 0)))
        })
    }

    fn view_rows(
        &self,
        tenant: &str,
        view: &str,
        wanted: RowsWanted,
    ) -> BoxFuture<'_, Result<ViewRows, StoreError>> {
        let (tenant, view) = (tenant.to_owned(), view.to_owned());
        let (key, after, limit) = match wanted {
            RowsWanted::Key(key) => (Some(key), None, 1),
            RowsWanted::Page { after, limit } => (None, after, i64::from(limit)),
        };
        Box::pin(async move {
            // One statement, one snapshot: the rows are exactly those at the position.
            let rows = self
                .reader()
                .query(
                    "SELECT v.position, r.key, r.row FROM views v LEFT JOIN view_rows r \
                     ON r.tenant = v.tenant AND r.view = v.view AND r.listed \
                     AND ($3::text IS NULL OR r.key = $3) AND ($4::text IS NULL OR r.key > $4) \
                     WHERE v.tenant = $1 AND v.view = $2 ORDER BY r.key LIMIT $5",
                    &[&tenant, &view, &key, &after, &limit],
                )
                .await?;
            let position = rows.first().map_or(0, |row| row.get::<_, i64>(0) as Position);
            let rows = rows
                .iter()
                .filter_map(|row| {
                    Some((row.get::<_, Option<String>>(1)?, row.get::<_, Option<String>>(2)?))
                })
                .collect();
            Ok(ViewRows { position, rows })
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.reader().query_one("SELECT 1", &[]).await?;
            Ok(())
        })
    }

    fn tenants(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let rows =
                self.reader().query("SELECT tenant FROM tenants ORDER BY tenant", &[]).await?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn view_versions(&self, tenant: &str) -> BoxFuture<'_, Result<Vec<(String, u32)>, StoreError>> {
        let tenant = tenant.to_owned();
        Box::pin(async move {
            let rows = self
                .reader()
                .query("SELECT view, version FROM views WHERE tenant = $1", &[&tenant])
                .await?;
            Ok(rows.iter().map(|row| (row.get(0), row.get::<_, i32>(1) as u32)).collect())
        })
    }

    fn watch(&self, tenant: &str) -> watch::Receiver<Position> {
        self.heads.watch(tenant)
    }

    fn recent(&self, tenant: &str, after: Position, limit: usize) -> Option<Vec<RecentEvent>> {
        self.heads.recent(tenant, after, limit)
    }
}
