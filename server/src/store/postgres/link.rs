//! Connections that come back: [`Connector`] makes a part's connections, waiting with
//! [`Backoff`] after failures (and failing at once meanwhile, so requests are answered 503
//! rather than kept waiting), and [`Readers`] keeps the pool of read connections, replacing
//! those that are lost.
//!
//! The pool is a handful of clients shared by every request (tokio-postgres pipelines
//! concurrent queries on one connection), not a pool that lends each request a connection of
//! its own such as deadpool-postgres or bb8: those would need more connections for the same
//! reads, and would still leave backoff, readiness and the count of reconnections to write.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Config, Connection, NoTls, Socket};

use crate::store::{Backoff, Fault, Health, Part, StoreError};

/// How long an attempt to connect may take, the server's greeting and authentication
/// included, unless the URL says otherwise (`connect_timeout`).
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// The connection settings of a database URL, with the name `annals-server` for the
/// server's sessions (so an operator sees them in `pg_stat_activity`) and a time limit on
/// connecting, unless the URL gives its own.
pub(super) fn config(url: &str) -> Result<Config, StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|err| StoreError::failed(format!("the database URL is not valid: {err}")))?;
    if config.get_application_name().is_none() {
        config.application_name("annals-server");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_WAIT);
    }
    Ok(config)
}

/// Makes one part's connections: after a failed attempt, the next waits for its backoff,
/// and attempts made before then fail at once with the last failure.
pub(super) struct Connector {
    config: Arc<Config>,
    part: Part,
    health: Arc<Health>,
    backoff: Backoff,
    /// The failure of the last attempt, while waiting to try again.
    last: Option<StoreError>,
    /// Whether a connection was ever made, so the next one counts as a reconnection.
    connected: bool,
}

impl Connector {
    pub(super) fn new(config: Arc<Config>, part: Part, health: Arc<Health>) -> Connector {
        Connector {
            config,
            part,
            health,
            backoff: Backoff::default(),
            last: None,
            connected: false,
        }
    }

    /// How long until the next attempt may go.
    pub(super) fn wait(&self) -> Duration {
        self.backoff.wait()
    }

    /// Whether the last attempt failed.
    pub(super) fn failing(&self) -> bool {
        self.backoff.failing()
    }

    /// A new connection whose messages the caller reads (the listener does).
    pub(super) async fn open(
        &mut self,
    ) -> Result<(Client, Connection<Socket, NoTlsStream>), StoreError> {
        if let Some(last) = &self.last
            && !self.backoff.wait().is_zero()
        {
            return Err(last.clone());
        }
        let limit = self.config.get_connect_timeout().map_or(CONNECT_WAIT, |wait| *wait);
        let attempt = tokio::time::timeout(limit, self.config.connect(NoTls)).await;
        match attempt {
            Ok(Ok(pair)) => {
                if self.connected || self.backoff.failing() {
                    self.health.reconnected(self.part);
                    tracing::info!(connection = self.part.name(), "reconnected to postgres");
                }
                self.connected = true;
                self.backoff.succeeded();
                self.last = None;
                Ok(pair)
            }
            // Whatever the server said (starting up, shutting down, not accepting
            // connections to this database, too many clients), it cannot be reached now.
            Ok(Err(err)) => {
                Err(self.failed(StoreError::new(Fault::Unreachable, StoreError::from(err).message)))
            }
            Err(_) => Err(self.failed(StoreError::new(
                Fault::Unreachable,
                format!("postgres: no answer to connecting within {limit:?}"),
            ))),
        }
    }

    /// A new connection, driven by a task of its own until it closes.
    pub(super) async fn connect(&mut self) -> Result<Client, StoreError> {
        let (client, connection) = self.open().await?;
        let part = self.part.name();
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(connection = part, error = %err, "a postgres connection closed");
            }
        });
        Ok(client)
    }

    /// Records a failed attempt (to connect, or to set up a connection just made) and
    /// schedules the next; returns the failure.
    pub(super) fn failed(&mut self, err: StoreError) -> StoreError {
        self.health.connect_failed(self.part);
        if self.backoff.failing() {
            tracing::debug!(connection = self.part.name(), error = %err, "still cannot connect to postgres");
        } else {
            tracing::warn!(connection = self.part.name(), error = %err, "cannot connect to postgres; trying again with backoff");
        }
        self.backoff.failed();
        self.last = Some(err.clone());
        err
    }
}

/// The read connections, shared by all requests in turn; a lost one is replaced when next
/// used.
pub(super) struct Readers {
    slots: Vec<tokio::sync::Mutex<Slot>>,
    next: AtomicUsize,
}

struct Slot {
    client: Option<Arc<Client>>,
    connector: Connector,
}

impl Readers {
    /// Opens `count` read connections.
    pub(super) async fn open(
        config: &Arc<Config>,
        health: &Arc<Health>,
        count: usize,
    ) -> Result<Readers, StoreError> {
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            let mut connector = Connector::new(config.clone(), Part::Readers, health.clone());
            let client = Arc::new(connector.connect().await?);
            slots.push(tokio::sync::Mutex::new(Slot { client: Some(client), connector }));
        }
        Ok(Readers { slots, next: AtomicUsize::new(0) })
    }

    /// The client of slot `index`, connected again first if it was lost.
    async fn client(&self, index: usize) -> Result<Arc<Client>, StoreError> {
        let mut slot = self.slots[index].lock().await;
        if let Some(client) = &slot.client
            && !client.is_closed()
        {
            return Ok(client.clone());
        }
        slot.client = None;
        let client = Arc::new(slot.connector.connect().await?);
        slot.client = Some(client.clone());
        Ok(client)
    }

    /// Forgets slot `index`'s client if it is still `lost`.
    async fn forget(&self, index: usize, lost: &Arc<Client>) {
        let mut slot = self.slots[index].lock().await;
        if slot.client.as_ref().is_some_and(|client| Arc::ptr_eq(client, lost)) {
            slot.client = None;
        }
    }

    /// Runs `read` on the next connection. A read cut off by a lost connection (a server that
    /// restarted, a backend that was terminated) runs once more, on a new connection: reads
    /// change nothing, so they may.
    pub(super) async fn run<T>(
        &self,
        read: impl AsyncFn(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let client = self.client(index).await?;
        let err = match read(&client).await {
            Ok(value) => return Ok(value),
            Err(err) => StoreError::from(err),
        };
        if err.fault != Fault::Unreachable && !client.is_closed() {
            return Err(err);
        }
        self.forget(index, &client).await;
        let client = self.client(index).await?;
        read(&client).await.map_err(StoreError::from)
    }
}
