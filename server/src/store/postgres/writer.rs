//! The node's one writer: a thread of its own that commits groups of requests, one
//! transaction per tenant, on a connection it makes again whenever it is lost.

use std::sync::Arc;

use annals_core::{Domain, Position};
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Config};

use super::link::Connector;
use super::tx::PostgresTx;
use crate::engine;
use crate::store::{
    Committed, Fault, Heads, Health, Job, Part, StoreError, WriteRequest, answer, by_tenant,
};

/// Most requests the writer folds into one transaction.
const GROUP: usize = 512;

/// Starts the writer of domain `D` and returns where to send it jobs, once it is connected.
pub(super) async fn start<D: Domain>(
    config: Arc<Config>,
    heads: Arc<Heads>,
    health: Arc<Health>,
) -> Result<mpsc::UnboundedSender<Job>, StoreError> {
    let (writer, jobs) = mpsc::unbounded_channel();
    let (ready, started) = oneshot::channel();
    std::thread::Builder::new()
        .name("annals-postgres-writer".to_owned())
        .spawn(move || write_thread::<D>(config, jobs, heads, health, ready))
        .map_err(|err| StoreError::failed(format!("cannot start the writer: {err}")))?;
    started.await.map_err(|_| StoreError::failed("the writer did not start"))??;
    Ok(writer)
}

/// The writer's connection, made again when lost.
struct Writer {
    connector: Connector,
    client: Option<Client>,
    health: Arc<Health>,
}

impl Writer {
    /// The connection, made again first if there is none or it closed. While that fails the
    /// writer is down; it is up again once connected.
    async fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            match self.connector.connect().await {
                Ok(client) => {
                    self.client = Some(client);
                    self.health.set_up(Part::Writer);
                }
                Err(err) => {
                    self.health.set_down(Part::Writer, &err);
                    return Err(err);
                }
            }
        }
        self.client.as_mut().ok_or_else(|| StoreError::failed("the writer has no connection"))
    }

    /// Commits `jobs` for `tenant`. A transaction cut off by a lost connection is run once
    /// more on a new one: it may have committed before the connection went, but every write
    /// is idempotent (a command's result is stored with its id, a raw event is found by its
    /// id, a rebuild replaces), so the second run answers what the first recorded, if it did.
    async fn commit<D: Domain>(
        &mut self,
        tenant: &str,
        jobs: &[Job],
    ) -> Result<Committed, StoreError> {
        let outcome = match self.attempt::<D>(tenant, jobs).await {
            Err(err) if err.fault == Fault::Unreachable => {
                tracing::warn!(error = %err, "the writer lost its connection; committing again on a new one");
                self.client = None;
                self.attempt::<D>(tenant, jobs).await
            }
            outcome => outcome,
        };
        // After a fault of the database (a server that became read-only after a failover,
        // say), or a panic in the middle of a transaction, the next one runs on a new
        // connection.
        if let Err(err) = &outcome
            && (err.fault.is_availability() || err.fault == Fault::Panicked)
        {
            self.client = None;
        }
        outcome
    }

    /// One run of the transaction; a panic of the domain's code in it (which rolls it back)
    /// is its error, and the writer goes on.
    async fn attempt<D: Domain>(
        &mut self,
        tenant: &str,
        jobs: &[Job],
    ) -> Result<Committed, StoreError> {
        let client = self.client().await?;
        let run = std::panic::AssertUnwindSafe(commit::<D>(client, tenant, jobs));
        run.catch_unwind().await.unwrap_or_else(|panic| Err(StoreError::panicked(panic.as_ref())))
    }
}

fn write_thread<D: Domain>(
    config: Arc<Config>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    heads: Arc<Heads>,
    health: Arc<Health>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = ready.send(Err(StoreError::failed(format!("cannot start the writer: {err}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let connector = Connector::new(config, Part::Writer, health.clone());
        let mut writer = Writer { connector, client: None, health };
        if let Err(err) = writer.client().await {
            let _ = ready.send(Err(err));
            return;
        }
        let _ = ready.send(Ok(()));
        loop {
            // While it cannot connect, the writer keeps trying between jobs, so that it is up
            // again (and the node ready) without waiting for one.
            let first = if writer.connector.failing() {
                tokio::select! {
                    job = jobs.recv() => job,
                    () = tokio::time::sleep(writer.connector.wait()) => {
                        let _ = writer.client().await;
                        continue;
                    }
                }
            } else {
                jobs.recv().await
            };
            let Some(first) = first else { break };
            let mut group = vec![first];
            while group.len() < GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            for (tenant, jobs) in by_tenant(group) {
                let outcome = writer.commit::<D>(&tenant, &jobs).await;
                if let Err(err) = &outcome
                    && jobs.len() > 1
                    && !err.fault.is_availability()
                {
                    // One request's failure must not fail those committed with it: each
                    // again, in a transaction of its own. (When the database is unavailable
                    // all would fail alike, and each is answered so at once.)
                    tracing::warn!(error = %err, requests = jobs.len(), "a group commit failed; committing its requests one by one");
                    for job in jobs {
                        let alone = vec![job];
                        let outcome = writer.commit::<D>(&tenant, &alone).await;
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
