//! The reactions' tables on PostgreSQL, and the claims that keep each consumer on one node.
//!
//! A node claims a consumer by taking a session-level advisory lock on a connection of its
//! own and moves the consumer's checkpoints through that connection only. PostgreSQL
//! releases the lock when the session ends, which it notices at once when the node's process
//! dies (its socket closes), so another node's next try claims the consumer; and a node that
//! lost its session can no longer move the checkpoints it was moving.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

use super::link::{Connector, Readers};
use crate::store::reactions::{Claimant, Sql, Value};
use crate::store::{BoxFuture, Health, Part, StoreError};

/// A statement's parameters, as the driver takes them.
fn bound(params: &[Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|value| -> Box<dyn ToSql + Sync + Send> {
            match value {
                Value::Int(n) => Box::new(*n),
                Value::Text(text) => Box::new(text.clone()),
                Value::Null => Box::new(None::<String>),
            }
        })
        .collect()
}

fn refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn read(row: &tokio_postgres::Row) -> Vec<Value> {
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            let value = if *ty == Type::INT8 {
                row.get::<_, Option<i64>>(i).map(Value::Int)
            } else if *ty == Type::INT4 {
                row.get::<_, Option<i32>>(i).map(|n| Value::Int(n.into()))
            } else {
                row.get::<_, Option<String>>(i).map(Value::Text)
            };
            value.unwrap_or(Value::Null)
        })
        .collect()
}

async fn execute(
    client: &Client,
    sql: &str,
    params: &[Value],
) -> Result<u64, tokio_postgres::Error> {
    let params = bound(params);
    client.execute(sql, &refs(&params)).await
}

async fn query(
    client: &Client,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>, tokio_postgres::Error> {
    let params = bound(params);
    Ok(client.query(sql, &refs(&params)).await?.iter().map(read).collect())
}

/// The tables through the read connections (for operators and the API).
pub(super) struct PooledSql(pub(super) Arc<Readers>);

impl Sql for PooledSql {
    fn execute(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.0.run(async move |client: &Client| execute(client, sql, &params).await))
    }

    fn query(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, StoreError>> {
        Box::pin(self.0.run(async move |client: &Client| query(client, sql, &params).await))
    }
}

/// A node's claim on one consumer: a session of its own holding the consumer's advisory lock.
pub(super) struct PgClaimant {
    connector: Connector,
    key: i64,
    session: Session,
}

/// The claim's session, once connected.
#[derive(Default)]
struct Session {
    client: Option<Client>,
    held: bool,
}

impl PgClaimant {
    pub(super) fn new(
        config: Arc<tokio_postgres::Config>,
        health: Arc<Health>,
        name: &str,
    ) -> Self {
        PgClaimant {
            connector: Connector::new(config, Part::Reactions, health),
            key: lock_key(name),
            session: Session::default(),
        }
    }
}

/// The advisory lock of consumer `name`: 64 bits of a hash of its name.
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("annals reaction {name}").as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl Claimant for PgClaimant {
    fn claim(&mut self) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            if self.session.client.as_ref().is_some_and(Client::is_closed) {
                self.session = Session::default();
            }
            if self.session.client.is_none() {
                self.session.client = Some(self.connector.connect().await?);
            }
            let Some(client) = &self.session.client else {
                return Ok(false);
            };
            if self.session.held {
                // Held for as long as the session lives; ask it whether it still does.
                if client.simple_query("").await.is_ok() {
                    return Ok(true);
                }
                self.session = Session::default();
                return Err(StoreError::failed("the session holding the claim ended"));
            }
            let taken = client.query_one("SELECT pg_try_advisory_lock($1)", &[&self.key]).await;
            match taken {
                Ok(row) => {
                    self.session.held = row.get(0);
                    Ok(self.session.held)
                }
                Err(err) => {
                    self.session = Session::default();
                    Err(err.into())
                }
            }
        })
    }

    fn sql(&self) -> &dyn Sql {
        self
    }
}

impl Sql for PgClaimant {
    fn execute(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let client = self.holding()?;
            Ok(execute(client, sql, &params).await?)
        })
    }

    fn query(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, StoreError>> {
        Box::pin(async move {
            let client = self.holding()?;
            Ok(query(client, sql, &params).await?)
        })
    }
}

impl PgClaimant {
    /// The session, while it holds the claim.
    fn holding(&self) -> Result<&Client, StoreError> {
        match &self.session.client {
            Some(client) if self.session.held && !client.is_closed() => Ok(client),
            _ => Err(StoreError::failed("this node does not hold the consumer")),
        }
    }
}
