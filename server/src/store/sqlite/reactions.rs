//! The reactions' tables on SQLite: read on a connection of their own, off the async threads,
//! and written by the store's one writer, between its groups, so that a reaction never waits
//! for the database's write lock (which the writer, busy with commits, would seldom let go
//! of). A SQLite file has one server, so each of its consumers is always claimed here.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::connect;
use super::writer::{Statement, Work};
use crate::store::reactions::{Claimant, Sql, Value};
use crate::store::{BoxFuture, StoreError};

/// The connection, opened when first used and again after a failure.
#[derive(Clone)]
pub(super) struct SqliteSql {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
    writer: mpsc::Sender<Work>,
}

/// The statements are written for PostgreSQL: `$n` is SQLite's `?n`.
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

impl SqliteSql {
    pub(super) fn new(path: PathBuf, writer: mpsc::Sender<Work>) -> SqliteSql {
        SqliteSql { path, conn: Arc::default(), writer }
    }

    fn run<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        run: impl FnOnce(
            &mut rusqlite::CachedStatement<'_>,
            Vec<rusqlite::types::Value>,
        ) -> rusqlite::Result<T>
        + Send
        + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let this = self.clone();
        Box::pin(async move {
            let task = tokio::task::spawn_blocking(move || {
                let mut conn = this.conn.lock().unwrap_or_else(|p| p.into_inner());
                if conn.is_none() {
                    *conn = Some(connect(&this.path)?);
                }
                let result = conn.as_ref().map_or_else(
                    || Err(StoreError::failed("no connection")),
                    |c| {
                        let mut statement = c.prepare_cached(&sqlite(sql))?;
                        Ok(run(&mut statement, params.into_iter().map(bound).collect())?)
                    },
                );
                if result.as_ref().is_err_and(|err: &StoreError| err.fault.is_availability()) {
                    *conn = None;
                }
                result
            });
            task.await.map_err(|err| StoreError::failed(format!("reaction task: {err}")))?
        })
    }
}

fn bound(value: Value) -> rusqlite::types::Value {
    match value {
        Value::Int(n) => rusqlite::types::Value::Integer(n),
        Value::Text(text) => rusqlite::types::Value::Text(text),
        Value::Null => rusqlite::types::Value::Null,
    }
}

fn read(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        _ => Value::Null,
    }
}

impl Sql for SqliteSql {
    fn execute(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let params = params.into_iter().map(bound).collect();
        let sent = self.writer.send(Work::Statement(Statement { sql: sqlite(sql), params, reply }));
        Box::pin(async move {
            let stopped = || StoreError::failed("the writer has stopped");
            sent.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        })
    }

    fn query(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, StoreError>> {
        self.run(sql, params, |statement, params| {
            let columns = statement.column_count();
            let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
                (0..columns).map(|i| row.get_ref(i).map(read)).collect()
            })?;
            rows.collect()
        })
    }
}

impl Claimant for SqliteSql {
    fn claim(&mut self) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Ok(true) })
    }

    fn sql(&self) -> &dyn Sql {
        self
    }
}
