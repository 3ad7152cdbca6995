//! The embedded backend: one SQLite file in WAL mode. A single writer thread commits groups
//! of requests (`synchronous=FULL`, so an acknowledged append survives a crash); a second
//! thread copies the WAL back into the database (checkpoints), so the writer never does;
//! reads use a small pool of their own connections.
//!
//! A full disk, a read-only file, another program's lock or a failing device fail the
//! transaction they meet, which SQLite rolls back whole, and are answered with their fault;
//! the writer writes again once the cause is gone (see `writer.rs`).

mod reactions;
mod tx;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use annals_core::{Domain, Position, Version};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use self::reactions::SqliteSql;
use self::tx::{EVENT_COLUMNS, event_row, head, stream_events, stream_state};
use self::writer::{Unwritable, Work, Writer, checkpoint_loop, open_writer, write_loop};
use super::{
    BoxFuture, EventRow, Heads, Health, Job, LogPage, Part, RecentEvent, RowsWanted, Store,
    StoreError, StoredStream, ViewRows, WriteReply, WriteRequest, refuse_newer_schema, sql_integer,
};

/// How long a connection waits for another's lock before giving up with `database_locked`.
/// The writer serialises every write, so this bounds how long requests queue behind a lock
/// held by another program.
const LOCK_WAIT: &str = "PRAGMA busy_timeout = 5000;";

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
    // Reactions' checkpoints and parked events.
    crate::store::reactions::SQLITE_TABLES,
];

/// A SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Work>>,
    readers: Arc<Readers>,
    heads: Arc<Heads>,
    health: Arc<Health>,
    reactions: SqliteSql,
}

/// The read connections not in use, and how many were closed after a fault (so that those
/// opened in their place count as reconnections).
#[derive(Default)]
struct Readers {
    idle: Mutex<Vec<Connection>>,
    closed: AtomicUsize,
}

impl Readers {
    /// An idle connection, or a new one.
    fn take(&self, path: &Path, health: &Health) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = connect(path).inspect_err(|_| health.connect_failed(Part::Readers))?;
        let replaces = self
            .closed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |closed| closed.checked_sub(1));
        if replaces.is_ok() {
            health.reconnected(Part::Readers);
        }
        Ok(conn)
    }

    /// Pools `conn` again after a read, unless the read failed because of the database:
    /// then the connection is closed.
    fn give_back<T>(&self, conn: Connection, read: &Result<T, StoreError>) {
        match read {
            Err(err) if err.fault.is_availability() => {
                self.closed.fetch_add(1, Ordering::Relaxed);
            }
            _ => self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn),
        }
    }
}

/// The file a `sqlite://PATH` URL names.
pub fn path_of(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).filter(|p| !p.is_empty())
}

/// Opens a connection on `path`, with its journal set up.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(LOCK_WAIT)?;
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
        conn.execute_batch(LOCK_WAIT)?;
        // A database of a newer annals-server is refused before anything is written to it,
        // the journal mode included.
        schema_version(&conn)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        drop(conn);
        let health = Arc::new(Health::default());
        let unwritable = Unwritable::default();
        let writer =
            Writer::new(open_writer(&path)?, path.clone(), unwritable.clone(), health.clone());
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let checkpointed = path.clone();
        std::thread::Builder::new()
            .name("annals-sqlite-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(&checkpointed, &woken, &unwritable))
            .map_err(|err| StoreError::failed(format!("cannot start the checkpointer: {err}")))?;
        let heads = Arc::new(Heads::default());
        let (sender, receiver) = mpsc::channel::<Work>();
        let writer_heads = heads.clone();
        std::thread::Builder::new()
            .name("annals-sqlite-writer".to_owned())
            .spawn(move || write_loop::<D>(writer, &receiver, &writer_heads, &wake))
            .map_err(|err| StoreError::failed(format!("cannot start the writer: {err}")))?;
        let store = SqliteStore {
            reactions: SqliteSql::new(path.clone(), sender.clone()),
            path,
            writer: Mutex::new(sender),
            readers: Arc::default(),
            heads,
            health,
        };
        Ok(Arc::new(store))
    }

    /// Runs `read` on a pooled read connection, off the async threads. A connection that
    /// failed because of the database is closed rather than pooled, and opened anew when
    /// next needed.
    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let health = self.health.clone();
        Box::pin(async move {
            let task = tokio::task::spawn_blocking(move || {
                let conn = readers.take(&path, &health)?;
                let result = read(&conn);
                readers.give_back(conn, &result);
                result
            });
            task.await.map_err(|err| StoreError::failed(format!("read task: {err}")))?
        })
    }
}

impl Store for SqliteStore {
    fn submit(
        &self,
        tenant: &str,
        request: WriteRequest,
    ) -> BoxFuture<'_, Result<WriteReply, StoreError>> {
        let (job, answered) = Job::new(tenant, request);
        answered(self.writer.lock().unwrap_or_else(|p| p.into_inner()).send(Work::Job(job)).is_ok())
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
        // A read of the file itself (`SELECT 1` would not open it).
        self.read(|conn| {
            conn.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn health(&self) -> &Health {
        &self.health
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

    fn changes(&self) -> watch::Receiver<u64> {
        self.heads.changes()
    }

    fn reactions(&self) -> &dyn crate::store::reactions::Sql {
        &self.reactions
    }

    fn claimant(&self, _name: &str) -> Box<dyn crate::store::reactions::Claimant> {
        Box::new(self.reactions.clone())
    }
}
