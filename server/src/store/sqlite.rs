//! The embedded backend: one SQLite file in WAL mode. A single writer thread commits groups
//! of requests (`synchronous=FULL`, so an acknowledged append survives a crash); a second
//! thread copies the WAL back into the database (checkpoints), so the writer never does;
//! reads use a small pool of their own connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use annals_core::{Domain, Position, Uuid, Version};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{oneshot, watch};

use super::{
    BoxFuture, Committed, EventRow, Heads, Job, LogPage, RecentEvent, RowWrite, RowsWanted, Store,
    StoreError, StoredStream, ViewRows, WriteReply, WriteRequest, WriteTx, Writes, answer,
    by_tenant, refuse_newer_schema, sql_integer,
};
use crate::engine;

/// Most requests the writer folds into one transaction.
const GROUP: usize = 512;

/// How long the checkpointer lets commits gather after the first one it hears of: a page
/// written by several commits in that time is copied into the database once.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    tenant TEXT PRIMARY KEY,
    head INTEGER NOT NULL
);
CREATE TABLE events (
    tenant TEXT NOT NULL,
    position INTEGER NOT NULL,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    schema INTEGER NOT NULL,
    data TEXT NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (tenant, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_stream ON events (tenant, stream, version);
CREATE INDEX events_by_id ON events (tenant, id);
CREATE TABLE streams (
    tenant TEXT NOT NULL,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    state_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (tenant, stream)
) WITHOUT ROWID;
CREATE TABLE commands (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE views (
    tenant TEXT NOT NULL,
    view TEXT NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tenant, view)
) WITHOUT ROWID;
CREATE TABLE view_rows (
    tenant TEXT NOT NULL,
    view TEXT NOT NULL,
    key TEXT NOT NULL,
    row TEXT NOT NULL,
    listed INTEGER NOT NULL,
    PRIMARY KEY (tenant, view, key)
) WITHOUT ROWID;
"#,
    // Raw appends find retried event ids within their stream (events_by_stream); an index of
    // every event id cost each append a write at a random place.
    "DROP INDEX events_by_id;",
];

/// A SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    heads: Arc<Heads>,
}

/// The file a `sqlite://PATH` URL names.
pub fn path_of(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).filter(|p| !p.is_empty())
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA busy_timeout = 10000;")?;
    configure(&conn)?;
    Ok(conn)
}

/// Sets the journal mode, which is recorded in the file, and how commits are synced.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    Ok(())
}

/// The schema version recorded in the file (`PRAGMA user_version`, the number of migrations
/// run; 0 for a new file), refused when newer than this code's.
fn schema_version(conn: &Connection) -> Result<usize, StoreError> {
    let recorded: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    refuse_newer_schema(u64::from(recorded), MIGRATIONS.len())?;
    Ok(recorded as usize)
}

/// Brings the schema up to date.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done = schema_version(conn)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, runs migrations and starts the
    /// writer for domain `D`. A database migrated by a newer annals-server is refused.
    pub fn open<D: Domain>(path: &str) -> Result<Arc<Self>, StoreError> {
        let path = PathBuf::from(path);
        let mut conn = Connection::open(&path)?;
        conn.execute_batch("PRAGMA busy_timeout = 10000;")?;
        // A database of a newer annals-server is refused before anything is written to it,
        // the journal mode included.
        schema_version(&conn)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        // The writer reads what it rewrites (stream states, view rows, results): a larger
        // page cache than the 2 MB default keeps those pages at hand.
        conn.execute_batch("PRAGMA cache_size = -65536;")?;
        // Checkpoints run on a thread of their own (see `checkpoint_loop`), not in commits.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        let checkpointer = connect(&path)?;
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("annals-sqlite-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(&checkpointer, &woken))
            .map_err(|err| StoreError(format!("cannot start the checkpointer: {err}")))?;
        let heads = Arc::new(Heads::default());
        let (sender, receiver) = mpsc::channel::<Job>();
        let writer_heads = heads.clone();
        std::thread::Builder::new()
            .name("annals-sqlite-writer".to_owned())
            .spawn(move || write_loop::<D>(conn, receiver, &writer_heads, &wake))
            .map_err(|err| StoreError(format!("cannot start the writer: {err}")))?;
        let store = SqliteStore {
            path,
            writer: Mutex::new(sender),
            readers: Arc::new(Mutex::new(Vec::new())),
            heads,
        };
        Ok(Arc::new(store))
    }

    /// Runs `read` on a pooled read connection, off the async threads.
    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        Box::pin(async move {
            let task = tokio::task::spawn_blocking(move || {
                let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let conn = match pooled {
                    Some(conn) => conn,
                    None => connect(&path)?,
                };
                let result = read(&conn);
                readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
                result
            });
            task.await.map_err(|err| StoreError(format!("read task: {err}")))?
        })
    }
}

/// Copies committed pages from the WAL into the database after the writer says it committed,
/// without blocking it (`PASSIVE`); ends with the writer. Durability does not depend on it:
/// a commit is durable once its WAL frames are synced.
fn checkpoint_loop(conn: &Connection, woken: &mpsc::Receiver<()>) {
    while woken.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_PAUSE);
        let _ = woken.try_recv();
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %err, "sqlite checkpoint failed; it is tried again after the next commit");
        }
    }
}

fn write_loop<D: Domain>(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    heads: &Heads,
    checkpoint: &mpsc::SyncSender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "the sqlite writer cannot start");
            return;
        }
    };
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        for (tenant, jobs) in by_tenant(group) {
            let outcome = runtime.block_on(commit::<D>(&mut conn, &tenant, &jobs));
            if let Err(err) = &outcome
                && jobs.len() > 1
            {
                // One request's failure must not fail those committed with it: each again,
                // in a transaction of its own.
                tracing::warn!(error = %err, requests = jobs.len(), "a group commit failed; committing its requests one by one");
                for job in jobs {
                    let alone = vec![job];
                    let outcome = runtime.block_on(commit::<D>(&mut conn, &tenant, &alone));
                    answer(heads, &tenant, alone, outcome);
                }
                continue;
            }
            answer(heads, &tenant, jobs, outcome);
        }
        // Full means a checkpoint is already due.
        let _ = checkpoint.try_send(());
    }
}

async fn commit<D: Domain>(
    conn: &mut Connection,
    tenant: &str,
    jobs: &[Job],
) -> Result<Committed, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut write = SqliteTx { tx: &tx, tenant, events: Vec::new() };
    let requests: Vec<&WriteRequest> = jobs.iter().map(|job| &job.request).collect();
    let replies = engine::apply_all::<D, _>(&mut write, &requests).await?;
    let head = write.head().await?;
    let events = std::mem::take(&mut write.events);
    tx.commit()?;
    Ok(Committed { replies, head, events })
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    tenant: &'a str,
    /// The events written so far, for subscribers once committed.
    events: Vec<EventRow>,
}

fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    let id: String = row.get(3)?;
    Ok(EventRow {
        position: row.get(0)?,
        stream: row.get(1)?,
        version: row.get(2)?,
        id: Uuid::parse_str(&id).unwrap_or_default(),
        event_type: row.get(4)?,
        schema: row.get(5)?,
        data: row.get(6)?,
        meta: row.get(7)?,
    })
}

const EVENT_COLUMNS: &str = "position, stream, version, id, type, schema, data, meta";

fn events_page(
    conn: &Connection,
    tenant: &str,
    after: Position,
    limit: u32,
) -> Result<Vec<EventRow>, StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND position > ?2 \
         ORDER BY position LIMIT ?3"
    ))?;
    let rows = select.query_map(params![tenant, after, limit], event_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

impl WriteTx for SqliteTx<'_> {
    async fn events_page(
        &mut self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        events_page(self.tx, self.tenant, after, limit)
    }

    async fn replace_views(
        &mut self,
        views: &[(&'static str, u32)],
        rows: &[RowWrite],
        position: Position,
    ) -> Result<(), StoreError> {
        let (tx, tenant) = (self.tx, self.tenant);
        for (view, version) in views {
            tx.execute(
                "DELETE FROM view_rows WHERE tenant = ?1 AND view = ?2",
                params![tenant, view],
            )?;
            tx.execute(
                "INSERT INTO views (tenant, view, version, position) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
                 position = excluded.position",
                params![tenant, view, version, position],
            )?;
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO view_rows (tenant, view, key, row, listed) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in rows {
            insert.execute(params![tenant, r.view, r.key, r.row, r.listed])?;
        }
        Ok(())
    }

    async fn head(&mut self) -> Result<Position, StoreError> {
        head(self.tx, self.tenant)
    }

    async fn results(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError> {
        let mut select =
            self.tx.prepare_cached("SELECT result FROM commands WHERE tenant = ?1 AND id = ?2")?;
        let mut found = HashMap::new();
        for id in ids {
            let result: Option<String> = select
                .query_row(params![self.tenant, id.to_string()], |row| row.get(0))
                .optional()?;
            if let Some(result) = result {
                found.insert(*id, result);
            }
        }
        Ok(found)
    }

    async fn streams(
        &mut self,
        names: &[String],
    ) -> Result<HashMap<String, StoredStream>, StoreError> {
        let mut found = HashMap::new();
        for name in names {
            if let Some(stream) = stream_state(self.tx, self.tenant, name)? {
                found.insert(name.clone(), stream);
            }
        }
        Ok(found)
    }

    async fn stream_events(&mut self, stream: &str) -> Result<Vec<EventRow>, StoreError> {
        Ok(stream_events(self.tx, self.tenant, stream, 1, u32::MAX)?.0)
    }

    async fn rows(
        &mut self,
        view: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut select = self.tx.prepare_cached(
            "SELECT row FROM view_rows WHERE tenant = ?1 AND view = ?2 AND key = ?3",
        )?;
        let mut found = HashMap::new();
        for key in keys {
            let row: Option<String> =
                select.query_row(params![self.tenant, view, key], |row| row.get(0)).optional()?;
            if let Some(row) = row {
                found.insert(key.clone(), row);
            }
        }
        Ok(found)
    }

    async fn events_by_id(
        &mut self,
        stream: &str,
        ids: &[Uuid],
    ) -> Result<Vec<EventRow>, StoreError> {
        let mut select = self.tx.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND id = ?2 AND stream = ?3"
        ))?;
        let mut found = Vec::new();
        for id in ids {
            let row = select
                .query_row(params![self.tenant, id.to_string(), stream], event_row)
                .optional()?;
            found.extend(row);
        }
        Ok(found)
    }

    async fn write(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let tx = self.tx;
        let tenant = self.tenant;
        self.events.extend(writes.events.iter().cloned());
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (tenant, position, stream, version, id, type, schema, data, meta) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for e in &writes.events {
            insert.execute(params![
                tenant,
                e.position,
                e.stream,
                e.version,
                e.id.to_string(),
                e.event_type,
                e.schema,
                e.data,
                e.meta
            ])?;
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO streams (tenant, stream, version, state_version, state) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, stream) DO UPDATE SET \
             version = excluded.version, state_version = excluded.state_version, \
             state = excluded.state",
        )?;
        for (name, s) in &writes.streams {
            upsert.execute(params![tenant, name, s.version, s.state_version, s.state])?;
        }
        let mut put_row = tx.prepare_cached(
            "INSERT INTO view_rows (tenant, view, key, row, listed) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (tenant, view, key) DO UPDATE SET row = excluded.row, \
             listed = excluded.listed",
        )?;
        let mut delete_row = tx
            .prepare_cached("DELETE FROM view_rows WHERE tenant = ?1 AND view = ?2 AND key = ?3")?;
        for r in &writes.rows {
            match &r.row {
                Some(row) => put_row.execute(params![tenant, r.view, r.key, row, r.listed])?,
                None => delete_row.execute(params![tenant, r.view, r.key])?,
            };
        }
        let mut put_view = tx.prepare_cached(
            "INSERT INTO views (tenant, view, version, position) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant, view) DO UPDATE SET version = excluded.version, \
             position = excluded.position",
        )?;
        for (view, version) in &writes.views {
            put_view.execute(params![tenant, view, version, writes.head])?;
        }
        let mut remember = tx.prepare_cached(
            "INSERT INTO commands (tenant, id, result) VALUES (?1, ?2, ?3) \
             ON CONFLICT (tenant, id) DO NOTHING",
        )?;
        for (id, result) in &writes.results {
            remember.execute(params![tenant, id.to_string(), result])?;
        }
        tx.prepare_cached(
            "INSERT INTO tenants (tenant, head) VALUES (?1, ?2) \
             ON CONFLICT (tenant) DO UPDATE SET head = excluded.head",
        )?
        .execute(params![tenant, writes.head])?;
        Ok(())
    }
}

fn head(conn: &Connection, tenant: &str) -> Result<Position, StoreError> {
    let head: Option<Position> = conn
        .prepare_cached("SELECT head FROM tenants WHERE tenant = ?1")?
        .query_row(params![tenant], |row| row.get(0))
        .optional()?;
    Ok(head.unwrap_or(0))
}

fn stream_state(
    conn: &Connection,
    tenant: &str,
    stream: &str,
) -> Result<Option<StoredStream>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT version, state_version, state FROM streams WHERE tenant = ?1 AND stream = ?2",
        )?
        .query_row(params![tenant, stream], |row| {
            Ok(StoredStream {
                version: row.get(0)?,
                state_version: row.get(1)?,
                state: row.get(2)?,
            })
        })
        .optional()?;
    Ok(found)
}

fn stream_events(
    conn: &Connection,
    tenant: &str,
    stream: &str,
    from: Version,
    limit: u32,
) -> Result<(Vec<EventRow>, Version), StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND stream = ?2 AND version >= ?3 \
         ORDER BY version LIMIT ?4"
    ))?;
    let rows = select
        .query_map(params![tenant, stream, sql_integer(from), limit], event_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let version = stream_state(conn, tenant, stream)?.map_or(0, |s| s.version);
    Ok((rows, version))
}

impl Store for SqliteStore {
    fn submit(
        &self,
        tenant: &str,
        request: WriteRequest,
    ) -> BoxFuture<'_, Result<WriteReply, StoreError>> {
        let (reply, answer) = oneshot::channel();
        let job = Job { tenant: tenant.to_owned(), request, reply };
        let sent = self.writer.lock().unwrap_or_else(|p| p.into_inner()).send(job);
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
        self.read(move |conn| {
            let _snapshot = conn.unchecked_transaction()?;
            let mut select = conn.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE tenant = ?1 AND position > ?2 \
                 ORDER BY position LIMIT ?3"
            ))?;
            let events = select
                .query_map(params![tenant, sql_integer(after), limit], event_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(LogPage { events, head: head(conn, &tenant)? })
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
        self.read(move |conn| stream_events(conn, &tenant, &stream, from, limit))
    }

    fn stream_state(
        &self,
        tenant: &str,
        stream: &str,
    ) -> BoxFuture<'_, Result<Option<StoredStream>, StoreError>> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        self.read(move |conn| stream_state(conn, &tenant, &stream))
    }

    fn view_rows(
        &self,
        tenant: &str,
        view: &str,
        wanted: RowsWanted,
    ) -> BoxFuture<'_, Result<ViewRows, StoreError>> {
        let (tenant, view) = (tenant.to_owned(), view.to_owned());
        self.read(move |conn| {
            let _snapshot = conn.unchecked_transaction()?;
            let position: Option<Position> = conn
                .prepare_cached("SELECT position FROM views WHERE tenant = ?1 AND view = ?2")?
                .query_row(params![tenant, view], |row| row.get(0))
                .optional()?;
            let (key, after, limit) = match wanted {
                RowsWanted::Key(key) => (Some(key), None, 1),
                RowsWanted::Page { after, limit } => (None, after, i64::from(limit)),
            };
            let mut select = conn.prepare_cached(
                "SELECT key, row FROM view_rows WHERE tenant = ?1 AND view = ?2 AND listed = 1 \
                 AND (?3 IS NULL OR key = ?3) AND (?4 IS NULL OR key > ?4) ORDER BY key LIMIT ?5",
            )?;
            let rows = select
                .query_map(params![tenant, view, key, after, limit], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ViewRows { position: position.unwrap_or(0), rows })
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn tenants(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        self.read(|conn| {
            let mut select = conn.prepare_cached("SELECT tenant FROM tenants ORDER BY tenant")?;
            let tenants = select.query_map([], |row| row.get(0))?;
            Ok(tenants.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn view_versions(&self, tenant: &str) -> BoxFuture<'_, Result<Vec<(String, u32)>, StoreError>> {
        let tenant = tenant.to_owned();
        self.read(move |conn| {
            let mut select =
                conn.prepare_cached("SELECT view, version FROM views WHERE tenant = ?1")?;
            let views = select.query_map(params![tenant], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(views.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn watch(&self, tenant: &str) -> watch::Receiver<Position> {
        self.heads.watch(tenant)
    }

    fn recent(&self, tenant: &str, after: Position, limit: usize) -> Option<Vec<RecentEvent>> {
        self.heads.recent(tenant, after, limit)
    }
}
