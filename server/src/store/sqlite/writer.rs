//! The process's one writer and its checkpointer, each a thread with a connection of its own
//! that is opened again after the database fails them.
//!
//! A full disk, a read-only file, another process's lock or a failing device fail a
//! transaction, which SQLite rolls back whole: nothing half-written stays. The writer then
//! closes its connection, answers the requests that come meanwhile with the same fault at
//! once, and tries again after a backoff (opening the file again, taking and releasing the
//! write lock), also between requests, so it comes back by itself once the cause is gone.
//!
//! SQLite does not notice a database file made read-only while a connection has it open:
//! commits go on into the WAL, and only checkpoints, which copy the WAL into the file, fail.
//! (Nor does opening the file again tell: SQLite hands a new connection a descriptor that
//! another one left open for writing.) So a checkpoint that cannot write the file (a
//! read-only file or file system, a failing device, a full disk) stops the writer: it
//! answers `database_read_only` or `database_full`, and is up again once its own
//! checkpoint, tried between jobs, can write the file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use annals_core::Domain;
use rusqlite::{Connection, MAIN_DB, TransactionBehavior};

use super::connect;
use super::tx::SqliteTx;
use crate::engine;
use crate::store::{
    Backoff, Committed, Fault, Heads, Health, Job, Part, StoreError, WriteRequest, WriteTx, answer,
    by_tenant,
};

/// Most requests the writer folds into one transaction.
const GROUP: usize = 512;

/// How long the checkpointer lets commits gather after the first one it hears of: a page
/// written by several commits in that time is copied into the database once.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);

/// Opens the writer's connection on `path`: the journal set up by [`connect`], a larger page
/// cache (the writer reads what it rewrites: stream states, view rows, results), and no
/// checkpoints of its own (the checkpointer's thread does them).
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = connect(path)?;
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 0;")?;
    Ok(conn)
}

/// What the writer thread is handed: a write of the engine, or one statement of the
/// reactions' tables (see `reactions.rs`), which it runs between groups so that it never
/// waits for the database's write lock behind the writer.
pub(super) enum Work {
    /// A write of the engine.
    Job(Job),
    /// One statement, its parameters, and where to send how many rows it changed.
    Statement(Statement),
}

/// One statement of the reactions' tables, for the writer to run.
pub(super) struct Statement {
    pub(super) sql: String,
    pub(super) params: Vec<rusqlite::types::Value>,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<u64, StoreError>>,
}

/// The writer's connection and what it knows of the database's faults.
pub(super) struct Writer {
    path: PathBuf,
    conn: Option<Connection>,
    backoff: Backoff,
    /// The fault that closed the connection, answered until it is opened again.
    fault: Option<StoreError>,
    /// Set by the checkpointer when it could not write the database file.
    unwritable: Unwritable,
    health: Arc<Health>,
}

impl Writer {
    pub(super) fn new(
        conn: Connection,
        path: PathBuf,
        unwritable: Unwritable,
        health: Arc<Health>,
    ) -> Writer {
        let backoff = Backoff::default();
        Writer { path, conn: Some(conn), backoff, fault: None, unwritable, health }
    }

    /// The connection, opened again first after a fault (once its backoff has passed; until
    /// then the fault is answered at once). A failure to open it, or of the checkpointer to
    /// write the file, is recorded.
    fn connection(&mut self) -> Result<&mut Connection, StoreError> {
        let unwritable = self.unwritable.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(err) = unwritable {
            return Err(self.failed(err));
        }
        if self.conn.is_none() {
            if let Some(fault) = &self.fault
                && !self.backoff.wait().is_zero()
            {
                return Err(fault.clone());
            }
            let opened = open_writer(&self.path).and_then(|conn| {
                if conn.is_readonly(MAIN_DB)? {
                    let message = format!("sqlite: {} is read-only", self.path.display());
                    return Err(StoreError::new(Fault::ReadOnly, message));
                }
                Ok(conn)
            });
            let conn = opened.map_err(|err| {
                self.health.connect_failed(Part::Writer);
                self.failed(err)
            })?;
            self.health.reconnected(Part::Writer);
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| StoreError::failed("the writer has no connection"))
    }

    /// Records a failure. One of the database (see [`Fault`]) closes the connection, to be
    /// opened again after a backoff, and puts the writer down, but for a full disk: no probe
    /// can tell whether the next write fits, so only writes say so.
    fn failed(&mut self, err: StoreError) -> StoreError {
        if !err.fault.is_availability() {
            return err;
        }
        if self.fault.is_none() {
            tracing::warn!(error = %err, "the sqlite writer cannot write; trying again with backoff");
        }
        self.conn = None;
        self.backoff.failed();
        self.fault = Some(err.clone());
        if err.fault != Fault::Full {
            self.health.set_down(Part::Writer, &err);
        }
        err
    }

    fn succeeded(&mut self) {
        if self.fault.take().is_some() {
            tracing::info!("the sqlite writer writes again");
        }
        self.backoff.succeeded();
        self.health.set_up(Part::Writer);
    }

    /// Commits `jobs` for `tenant` in one transaction.
    fn commit<D: Domain>(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        tenant: &str,
        jobs: &[Job],
    ) -> Result<Committed, StoreError> {
        let conn = self.connection()?;
        // A panic of the domain's code rolls the transaction back (its drop does) and is this
        // commit's error: the writer goes on with the next.
        let run =
            std::panic::AssertUnwindSafe(|| runtime.block_on(commit::<D>(conn, tenant, jobs)));
        let outcome = std::panic::catch_unwind(run);
        match outcome.unwrap_or_else(|panic| Err(StoreError::panicked(panic.as_ref()))) {
            Ok(committed) => {
                self.succeeded();
                Ok(committed)
            }
            Err(err) => Err(self.failed(err)),
        }
    }

    /// Runs one statement of the reactions' tables, on its own.
    fn statement(&mut self, statement: &Statement) -> Result<u64, StoreError> {
        let conn = self.connection()?;
        let params = rusqlite::params_from_iter(statement.params.iter());
        let run = conn.prepare_cached(&statement.sql).and_then(|mut s| s.execute(params));
        match run {
            Ok(changed) => {
                self.succeeded();
                Ok(changed as u64)
            }
            Err(err) => Err(self.failed(err.into())),
        }
    }

    /// Between jobs, after a fault: whether the database can be written again (the file
    /// opens for writing, the write lock can be taken, and what the WAL holds can be copied
    /// into the file).
    fn probe(&mut self) {
        let Ok(conn) = self.connection() else { return };
        let probed = conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(StoreError::from)
            .and_then(|()| checkpoint(conn).map_err(|err| unwritable(&err).unwrap_or(err)));
        match probed {
            Ok(()) => self.succeeded(),
            Err(err) => {
                self.failed(err);
            }
        }
    }
}

/// Where the checkpointer tells the writer that it could not write the database file.
pub(super) type Unwritable = Arc<Mutex<Option<StoreError>>>;

/// Copies committed pages from the WAL into the database after the writer says it committed,
/// without blocking it (`PASSIVE`); ends with the writer. Durability does not depend on it:
/// a commit is durable once its WAL frames are synced. A checkpoint that cannot write the
/// database file stops the writer (see [`unwritable`]); one that fails otherwise opens its
/// connection again for the next.
pub(super) fn checkpoint_loop(path: &Path, woken: &mpsc::Receiver<()>, stop: &Unwritable) {
    let mut conn: Option<Connection> = None;
    while woken.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_PAUSE);
        let _ = woken.try_recv();
        let checkpointed = match &conn {
            Some(conn) => checkpoint(conn),
            None => connect(path).and_then(|opened| checkpoint(conn.insert(opened))),
        };
        if let Err(err) = checkpointed {
            tracing::warn!(error = %err, "sqlite checkpoint failed; it is tried again after the next commit");
            conn = None;
            if let Some(fault) = unwritable(&err) {
                *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(fault);
            }
        }
    }
}

/// Copies what the WAL holds into the database file (`PASSIVE`: what it can without waiting
/// for readers; a checkpoint already running elsewhere is no error).
fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    Ok(())
}

/// A failed checkpoint as the writer's fault, when it says that the database file cannot
/// be written: a full disk stays `Full`; a read-only file or file system, or a device that
/// fails (an I/O error writing the file), is `ReadOnly`. `None` for any other failure.
fn unwritable(err: &StoreError) -> Option<StoreError> {
    match err.fault {
        Fault::Full => Some(err.clone()),
        Fault::ReadOnly | Fault::Unreachable => Some(StoreError::new(
            Fault::ReadOnly,
            format!("the database file cannot be written: {err}"),
        )),
        Fault::Locked | Fault::Failed | Fault::Panicked => None,
    }
}

/// Commits the jobs it receives, in groups, until the store is dropped.
pub(super) fn write_loop<D: Domain>(
    mut writer: Writer,
    jobs: &mpsc::Receiver<Work>,
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
    loop {
        // After a fault the writer tries again between jobs, so that it is up again (and the
        // node ready) without waiting for one.
        let first = if writer.backoff.failing() {
            match jobs.recv_timeout(writer.backoff.wait()) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    writer.probe();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match jobs.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut group = Vec::new();
        let mut statements = Vec::new();
        let mut next = Some(first);
        while let Some(work) = next {
            match work {
                Work::Job(job) => group.push(job),
                Work::Statement(statement) => statements.push(statement),
            }
            next = if group.len() < GROUP { jobs.try_recv().ok() } else { None };
        }
        for statement in statements {
            let outcome = writer.statement(&statement);
            let _ = statement.reply.send(outcome);
        }
        for (tenant, jobs) in by_tenant(group) {
            let outcome = writer.commit::<D>(&runtime, &tenant, &jobs);
            if let Err(err) = &outcome
                && jobs.len() > 1
                && !err.fault.is_availability()
            {
                // One request's failure must not fail those committed with it: each again,
                // in a transaction of its own. (A fault of the database would fail all alike,
                // so each is answered so at once.)
                tracing::warn!(error = %err, requests = jobs.len(), "a group commit failed; committing its requests one by one");
                for job in jobs {
                    let alone = vec![job];
                    let outcome = writer.commit::<D>(&runtime, &tenant, &alone);
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
