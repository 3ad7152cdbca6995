//! The scale-out backend: PostgreSQL shared by several server nodes.
//!
//! Each node has one writer that commits groups of requests. Every write transaction first
//! locks its tenant's row in `tenants`, so writers on all nodes assign positions one
//! transaction at a time, in commit order: a rolled-back transaction releases the lock
//! without having used a position, and positions stay gap-free by construction. Each commit
//! sends `NOTIFY annals, '<tenant> <head>'`; every node listens and wakes its subscribers.
//!
//! Every connection comes back after the database restarts or ends it: the writer's
//! (`writer.rs`), the readers' (`link.rs`) and the listener's, which catches up on the
//! notifications it missed (`listen.rs`). Until one is back, requests that need it are
//! answered 503 at once.

mod link;
mod listen;
mod reactions;
mod tx;
mod writer;

use std::sync::Arc;

use annals_core::{Domain, Position, Version};
use tokio::sync::{mpsc, watch};
use tokio_postgres::{Client, NoTls};

use self::link::Readers;
use self::reactions::{PgClaimant, PooledSql};
use self::tx::{EVENT_COLUMNS, event_row, stored_stream};
use super::{
    BoxFuture, EventRow, Fault, Heads, Health, Job, LogPage, Part, RecentEvent, RowsWanted, Store,
    StoreError, StoredStream, ViewRows, WriteReply, WriteRequest, refuse_newer_schema, sql_integer,
};

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
    // Reactions' checkpoints and parked events.
    crate::store::reactions::POSTGRES_TABLES,
];

/// A PostgreSQL database.
pub struct PostgresStore {
    writer: mpsc::UnboundedSender<Job>,
    readers: Arc<Readers>,
    config: Arc<tokio_postgres::Config>,
    pooled: PooledSql,
    heads: Arc<Heads>,
    health: Arc<Health>,
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
        let config = Arc::new(link::config(url)?);
        let (mut admin, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        migrate(&mut admin).await?;
        drop(admin);
        let heads = Arc::new(Heads::default());
        let health = Arc::new(Health::default());
        let readers = Arc::new(Readers::open(&config, &health, READERS).await?);
        let writer = writer::start::<D>(config.clone(), heads.clone(), health.clone()).await?;
        let waiting = StoreError::new(Fault::Unreachable, "the listener does not listen yet");
        health.set_down(Part::Listener, &waiting);
        tokio::spawn(listen::listen(config.clone(), Arc::downgrade(&heads), health.clone()));
        let pooled = PooledSql(readers.clone());
        Ok(Arc::new(PostgresStore { writer, readers, config, pooled, heads, health }))
    }
}

impl Store for PostgresStore {
    fn submit(
        &self,
        tenant: &str,
        request: WriteRequest,
    ) -> BoxFuture<'_, Result<WriteReply, StoreError>> {
        let (job, answered) = Job::new(tenant, request);
        answered(self.writer.send(job).is_ok())
    }

    fn events_after(
        &self,
        tenant: &str,
        after: Position,
        limit: u32,
    ) -> BoxFuture<'_, Result<LogPage, StoreError>> {
        let tenant = tenant.to_owned();
        Box::pin(self.readers.run(async move |client: &Client| {
            // One statement, one snapshot: the head is never behind the events returned.
            let rows = client
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
                None => client
                    .query_opt("SELECT head FROM tenants WHERE tenant = $1", &[&tenant])
                    .await?
                    .map_or(0, |row| row.get::<_, i64>(0) as Position),
            };
            Ok(LogPage { events: rows.iter().map(event_row).collect(), head })
        }))
    }

    fn stream_events(
        &self,
        tenant: &str,
        stream: &str,
        from: Version,
        limit: u32,
    ) -> BoxFuture<'_, Result<(Vec<EventRow>, Version), StoreError>> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        Box::pin(self.readers.run(async move |client: &Client| {
            let rows = client
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND stream = $2 \
                         AND version >= $3 ORDER BY version LIMIT $4"
                    ),
                    &[&tenant, &stream, &sql_integer(from), &(limit as i64)],
                )
                .await?;
            let version = client
                .query_opt(
                    "SELECT version FROM streams WHERE tenant = $1 AND stream = $2",
                    &[&tenant, &stream],
                )
                .await?
                .map_or(0, |row| row.get::<_, i64>(0) as Version);
            Ok((rows.iter().map(event_row).collect(), version))
        }))
    }

    fn stream_state(
        &self,
        tenant: &str,
        stream: &str,
    ) -> BoxFuture<'_, Result<Option<StoredStream>, StoreError>> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        Box::pin(self.readers.run(async move |client: &Client| {
            let row = client
                .query_opt(
                    "SELECT version, state_version, state FROM streams WHERE tenant = $1 AND stream = $2",
                    &[&tenant, &stream],
                )
                .await?;
            Ok(row.map(|row| stored_stream(&row, 0)))
        }))
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
        Box::pin(self.readers.run(async move |client: &Client| {
            // One statement, one snapshot: the rows are exactly those at the position.
            let rows = client
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
        }))
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(
            self.readers
                .run(async |client: &Client| client.query_one("SELECT 1", &[]).await.map(drop)),
        )
    }

    fn health(&self) -> &Health {
        &self.health
    }

    fn tenants(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(self.readers.run(async |client: &Client| {
            let rows = client.query("SELECT tenant FROM tenants ORDER BY tenant", &[]).await?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        }))
    }

    fn view_versions(&self, tenant: &str) -> BoxFuture<'_, Result<Vec<(String, u32)>, StoreError>> {
        let tenant = tenant.to_owned();
        Box::pin(self.readers.run(async move |client: &Client| {
            let rows = client
                .query("SELECT view, version FROM views WHERE tenant = $1", &[&tenant])
                .await?;
            Ok(rows.iter().map(|row| (row.get(0), row.get::<_, i32>(1) as u32)).collect())
        }))
    }

    fn watch(&self, tenant: &str) -> watch::Receiver<Position> {
        self.heads.watch(tenant)
    }

    fn recent(&self, tenant: &str, after: Position, limit: usize) -> Option<Vec<RecentEvent>> {
        self.heads.recent(tenant, after, limit)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.heads.changes()
    }

    fn reactions(&self) -> &dyn crate::store::reactions::Sql {
        &self.pooled
    }

    fn claimant(&self, name: &str) -> Box<dyn crate::store::reactions::Claimant> {
        Box::new(PgClaimant::new(self.config.clone(), self.health.clone(), name))
    }
}
