//! Where reactions keep their place: one checkpoint per consumer and tenant (`reactions`), and
//! the events a consumer gave up on (`parked`), in the same database as the log.
//!
//! Both backends run the same statements through [`Sql`] (written with `$n` placeholders,
//! which the SQLite side reads as `?n`): the tables are small, written once per page of events
//! at most, and their rules are the same on both. Every move of a checkpoint is a
//! compare-and-set on the position it moves from, so a consumer that an operator reset, or
//! that another node took over, does not write over what happened meanwhile.

use annals_core::Position;

use super::{BoxFuture, StoreError};

/// A value bound to, or read from, a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer (positions, counts, milliseconds).
    Int(i64),
    /// Text.
    Text(String),
    /// SQL `NULL`.
    Null,
}

impl Value {
    fn int(&self) -> i64 {
        match self {
            Value::Int(n) => *n,
            _ => 0,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(text.to_owned())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<Position> for Value {
    fn from(n: Position) -> Value {
        Value::Int(super::sql_integer(n))
    }
}

/// A connection to the reactions' tables: each backend runs these statements its own way.
pub trait Sql: Send + Sync {
    /// Runs a statement; how many rows it changed.
    fn execute(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Runs a query; its rows.
    fn query(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, StoreError>>;
}

/// Claims a consumer for this node, so that each consumer runs on one node at a time.
pub trait Claimant: Send {
    /// Whether this node holds the consumer now, claiming it if nobody does. An error means
    /// the database could not be asked; the claim, if held, is lost with it.
    fn claim(&mut self) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// The connection that holds the claim: a checkpoint moved through it fails once the claim
    /// is lost.
    fn sql(&self) -> &dyn Sql;
}

/// The tables, SQLite's way.
pub const SQLITE_TABLES: &str = r#"
CREATE TABLE reactions (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;
CREATE TABLE parked (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    tries INTEGER NOT NULL,
    error TEXT NOT NULL,
    at INTEGER NOT NULL,
    retry INTEGER NOT NULL,
    PRIMARY KEY (tenant, name, position)
) WITHOUT ROWID;
"#;

/// The tables, PostgreSQL's way (integers as BIGINT, which both sides bind as `i64`).
pub const POSTGRES_TABLES: &str = r#"
CREATE TABLE reactions (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (tenant, name)
);
CREATE TABLE parked (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    tries BIGINT NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL,
    retry BIGINT NOT NULL,
    PRIMARY KEY (tenant, name, position)
);
"#;

/// Where a consumer is in a tenant's log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// The last position handled (or passed over); 0 before the first.
    pub position: Position,
    /// Failed tries of the event after `position`.
    pub failures: u32,
    /// The last failure's message.
    pub error: Option<String>,
}

/// A consumer's checkpoint in one tenant, with how many events it parked.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerRow {
    /// The tenant.
    pub tenant: String,
    /// The consumer.
    pub name: String,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
    /// Events parked and not yet retried or skipped.
    pub parked: u64,
}

/// An event a consumer gave up on after its tries.
#[derive(Clone, Debug, PartialEq)]
pub struct Parked {
    /// The event's position.
    pub position: Position,
    /// The event's type.
    pub event_type: String,
    /// How often it was tried.
    pub tries: u32,
    /// The last failure.
    pub error: String,
    /// When it was parked (or last retried), milliseconds since the epoch.
    pub at: i64,
    /// Whether an operator asked for it to be tried again.
    pub retry: bool,
}

fn position(value: &Value) -> Position {
    Position::try_from(value.int()).unwrap_or(0)
}

fn count(value: &Value) -> u32 {
    u32::try_from(value.int()).unwrap_or(u32::MAX)
}

/// The consumer's checkpoint in `tenant`, made at 0 when it has none (a read, but the first
/// time).
pub async fn checkpoint(sql: &dyn Sql, tenant: &str, name: &str) -> Result<Checkpoint, StoreError> {
    let read = async || {
        let rows = sql
            .query(
                "SELECT position, failures, error FROM reactions WHERE tenant = $1 AND name = $2",
                vec![tenant.into(), name.into()],
            )
            .await?;
        Ok::<_, StoreError>(rows.first().map(|row| Checkpoint {
            position: position(&row[0]),
            failures: count(&row[1]),
            error: row[2].text(),
        }))
    };
    if let Some(checkpoint) = read().await? {
        return Ok(checkpoint);
    }
    sql.execute(
        "INSERT INTO reactions (tenant, name, position, failures, error) \
         VALUES ($1, $2, 0, 0, NULL) ON CONFLICT (tenant, name) DO NOTHING",
        vec![tenant.into(), name.into()],
    )
    .await?;
    Ok(read().await?.unwrap_or_default())
}

/// Moves the checkpoint from `from` to `to`, clearing its failures; `false` if it was not at
/// `from` (reset by an operator, or moved by another node).
pub async fn advance(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    from: Position,
    to: Position,
) -> Result<bool, StoreError> {
    let changed = sql
        .execute(
            "UPDATE reactions SET position = $4, failures = 0, error = NULL \
             WHERE tenant = $1 AND name = $2 AND position = $3",
            vec![tenant.into(), name.into(), from.into(), to.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Records a failed try of the event after the checkpoint at `at`.
pub async fn failed(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    at: Position,
    failures: u32,
    error: &str,
) -> Result<(), StoreError> {
    sql.execute(
        "UPDATE reactions SET failures = $4, error = $5 \
         WHERE tenant = $1 AND name = $2 AND position = $3",
        vec![tenant.into(), name.into(), at.into(), i64::from(failures).into(), error.into()],
    )
    .await?;
    Ok(())
}

/// Parks the event at `position` after `tries` failed tries.
pub async fn park(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    position: Position,
    tries: u32,
    error: &str,
    at: i64,
) -> Result<(), StoreError> {
    sql.execute(
        "INSERT INTO parked (tenant, name, position, tries, error, at, retry) \
         VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT (tenant, name, position) \
         DO UPDATE SET tries = excluded.tries, error = excluded.error, at = excluded.at, retry = 0",
        vec![
            tenant.into(),
            name.into(),
            position.into(),
            i64::from(tries).into(),
            error.into(),
            at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The parked events an operator asked to try again, in position order.
pub async fn retries(sql: &dyn Sql, tenant: &str, name: &str) -> Result<Vec<Position>, StoreError> {
    let rows = sql
        .query(
            "SELECT position FROM parked WHERE tenant = $1 AND name = $2 AND retry = 1 \
             ORDER BY position",
            vec![tenant.into(), name.into()],
        )
        .await?;
    Ok(rows.iter().map(|row| position(&row[0])).collect())
}

/// The outcome of trying a parked event again: gone when it was handled, parked again with
/// one more try and the new error when not.
pub async fn retried(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    at: Position,
    outcome: Result<(), &str>,
    now: i64,
) -> Result<(), StoreError> {
    let Err(error) = outcome else {
        return skip(sql, tenant, name, at).await.map(drop);
    };
    sql.execute(
        "UPDATE parked SET retry = 0, tries = tries + 1, error = $4, at = $5 \
         WHERE tenant = $1 AND name = $2 AND position = $3",
        vec![tenant.into(), name.into(), at.into(), error.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Asks for a parked event to be tried again; `false` if no such event is parked.
pub async fn request_retry(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    at: Position,
) -> Result<bool, StoreError> {
    let retry = "UPDATE parked SET retry = 1 WHERE tenant = $1 AND name = $2 AND position = $3";
    one_parked(sql, retry, tenant, name, at).await
}

/// Gives up on a parked event for good; `false` if no such event is parked.
pub async fn skip(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    at: Position,
) -> Result<bool, StoreError> {
    let delete = "DELETE FROM parked WHERE tenant = $1 AND name = $2 AND position = $3";
    one_parked(sql, delete, tenant, name, at).await
}

/// Runs `statement` on the parked event at `at`; whether there was one.
async fn one_parked(
    sql: &dyn Sql,
    statement: &'static str,
    tenant: &str,
    name: &str,
    at: Position,
) -> Result<bool, StoreError> {
    let changed = sql.execute(statement, vec![tenant.into(), name.into(), at.into()]).await?;
    Ok(changed == 1)
}

/// Every consumer's checkpoint in every tenant, by tenant and name.
pub async fn consumers(sql: &dyn Sql) -> Result<Vec<ConsumerRow>, StoreError> {
    let rows = sql
        .query(
            "SELECT r.tenant, r.name, r.position, r.failures, r.error, \
             (SELECT COUNT(*) FROM parked p WHERE p.tenant = r.tenant AND p.name = r.name) \
             FROM reactions r ORDER BY r.tenant, r.name",
            Vec::new(),
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| ConsumerRow {
            tenant: row[0].text().unwrap_or_default(),
            name: row[1].text().unwrap_or_default(),
            checkpoint: Checkpoint {
                position: position(&row[2]),
                failures: count(&row[3]),
                error: row[4].text(),
            },
            parked: u64::try_from(row[5].int()).unwrap_or(0),
        })
        .collect())
}

/// A consumer's parked events in `tenant`, in position order.
pub async fn parked(sql: &dyn Sql, tenant: &str, name: &str) -> Result<Vec<Parked>, StoreError> {
    let rows = sql
        .query(
            "SELECT p.position, e.type, p.tries, p.error, p.at, p.retry FROM parked p \
             JOIN events e ON e.tenant = p.tenant AND e.position = p.position \
             WHERE p.tenant = $1 AND p.name = $2 ORDER BY p.position",
            vec![tenant.into(), name.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Parked {
            position: position(&row[0]),
            event_type: row[1].text().unwrap_or_default(),
            tries: count(&row[2]),
            error: row[3].text().unwrap_or_default(),
            at: row[4].int(),
            retry: row[5].int() != 0,
        })
        .collect())
}

/// Starts a consumer over at `to` in `tenant` (or in every tenant), forgetting its failures
/// and parked events; how many checkpoints moved.
pub async fn reset(
    sql: &dyn Sql,
    tenant: Option<&str>,
    name: &str,
    to: Position,
) -> Result<u64, StoreError> {
    let tenants: Vec<String> = match tenant {
        Some(tenant) => vec![tenant.to_owned()],
        None => consumers(sql)
            .await?
            .into_iter()
            .filter(|row| row.name == name)
            .map(|row| row.tenant)
            .collect(),
    };
    let mut moved = 0;
    for tenant in tenants {
        checkpoint(sql, &tenant, name).await?;
        moved += sql
            .execute(
                "UPDATE reactions SET position = $3, failures = 0, error = NULL \
                 WHERE tenant = $1 AND name = $2",
                vec![tenant.as_str().into(), name.into(), to.into()],
            )
            .await?;
        sql.execute(
            "DELETE FROM parked WHERE tenant = $1 AND name = $2",
            vec![tenant.as_str().into(), name.into()],
        )
        .await?;
    }
    Ok(moved)
}
