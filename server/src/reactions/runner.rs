//! Runs each consumer on its own task: claim it, read every tenant's log after its checkpoint
//! a page at a time, hand each wanted event to it, move the checkpoint past what it handled,
//! and wait for the next commit.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::task::JoinHandle;

use super::{Consumer, LONGEST_WAIT};
use crate::routes::now_millis;
use crate::store::reactions::{self, Sql};
use crate::store::{EventRow, Store, StoreError, WriteRequest, panic_text};

/// How often a node tries to claim a consumer another node holds, and how long a consumer
/// that is caught up waits at most before looking again (for new tenants and retries).
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);

/// Events read at a time.
const PAGE: u32 = 1000;

/// How long a consumer handles events before it moves its checkpoint, within a page.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The wait after the database failed a consumer's round.
const AFTER_FAULT: Duration = Duration::from_secs(1);

/// What one consumer did on this node since it started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events handled.
    pub handled: AtomicU64,
    /// Failed tries.
    pub failures: AtomicU64,
    /// Events parked.
    pub parked: AtomicU64,
    /// Whether this node runs it now.
    pub running: AtomicBool,
}

/// The consumers this node runs, each on a task of its own, stopped when dropped.
#[derive(Default)]
pub struct Reactions {
    consumers: Vec<(Arc<dyn Consumer>, Arc<Stats>)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Reactions {
    /// Starts `consumers` over `store` (on the current tokio runtime).
    pub fn start(store: Arc<dyn Store>, consumers: Vec<Arc<dyn Consumer>>) -> Reactions {
        let consumers: Vec<_> =
            consumers.into_iter().map(|c| (c, Arc::new(Stats::default()))).collect();
        let tasks = consumers
            .iter()
            .map(|(consumer, stats)| {
                tokio::spawn(run(store.clone(), consumer.clone(), stats.clone()))
            })
            .collect();
        Reactions { consumers, tasks }
    }

    /// The consumers, with what each did here.
    pub fn consumers(&self) -> impl Iterator<Item = (&dyn Consumer, &Stats)> {
        self.consumers.iter().map(|(c, s)| (c.as_ref(), s.as_ref()))
    }
}

impl Drop for Reactions {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a round over a tenant's log found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Round {
    /// Caught up.
    Idle,
    /// A handler failed: wait this long before trying again.
    Wait(Duration),
    /// More to read at once.
    More,
}

/// Why a delivery did not go through.
enum Failure {
    /// The handler failed: counts towards parking.
    Handler(String),
    /// The database could not take its commands: does not.
    Store(StoreError),
}

async fn run(store: Arc<dyn Store>, consumer: Arc<dyn Consumer>, stats: Arc<Stats>) {
    let name = consumer.name().to_owned();
    let mut claimant = store.claimant(&name);
    let mut changes = store.changes();
    // Tenants whose last try failed, and when to try again.
    let mut waiting = HashMap::new();
    loop {
        match claimant.claim().await {
            Ok(true) => {
                if !stats.running.swap(true, Ordering::Relaxed) {
                    tracing::info!(reaction = %name, "running the reaction on this node");
                }
            }
            Ok(false) => {
                stats.running.store(false, Ordering::Relaxed);
                tokio::time::sleep(CLAIM_EVERY).await;
                continue;
            }
            Err(err) => {
                stats.running.store(false, Ordering::Relaxed);
                tracing::debug!(reaction = %name, error = %err, "cannot claim the reaction");
                tokio::time::sleep(CLAIM_EVERY).await;
                continue;
            }
        }
        changes.borrow_and_update();
        let sql = claimant.sql();
        let round = match all_tenants(&store, consumer.as_ref(), sql, &stats, &mut waiting).await {
            Ok(round) => round,
            Err(err) => {
                tracing::warn!(reaction = %name, error = %err, "a reaction's round failed; trying again");
                Round::Wait(AFTER_FAULT)
            }
        };
        match round {
            Round::More => {}
            Round::Wait(wait) => tokio::time::sleep(wait).await,
            Round::Idle => {
                let _ = tokio::time::timeout(CLAIM_EVERY, changes.changed()).await;
            }
        }
    }
}

/// A round over every tenant's log, but those still `waiting` after a failure.
async fn all_tenants(
    store: &Arc<dyn Store>,
    consumer: &dyn Consumer,
    sql: &dyn Sql,
    stats: &Stats,
    waiting: &mut HashMap<String, Instant>,
) -> Result<Round, StoreError> {
    let mut round = Round::Idle;
    let now = Instant::now();
    for tenant in store.tenants().await? {
        if waiting.get(&tenant).is_some_and(|until| *until > now) {
            continue;
        }
        waiting.remove(&tenant);
        match one_tenant(store, consumer, sql, stats, &tenant).await? {
            Round::Wait(wait) => {
                waiting.insert(tenant, now + wait);
            }
            other => round = round.max(other),
        }
    }
    if round == Round::Idle
        && let Some(until) = waiting.values().min()
    {
        return Ok(Round::Wait(until.saturating_duration_since(now)));
    }
    Ok(round)
}

async fn one_tenant(
    store: &Arc<dyn Store>,
    consumer: &dyn Consumer,
    sql: &dyn Sql,
    stats: &Stats,
    tenant: &str,
) -> Result<Round, StoreError> {
    let name = consumer.name();
    for at in reactions::retries(sql, tenant, name).await? {
        let page = store.events_after(tenant, at.saturating_sub(1), 1).await?;
        let Some(event) = page.events.first().filter(|e| e.position == at) else {
            reactions::skip(sql, tenant, name, at).await?;
            continue;
        };
        let outcome = match deliver(store, consumer, tenant, event).await {
            Ok(()) => Ok(()),
            Err(Failure::Handler(error)) => Err(error),
            Err(Failure::Store(err)) => return Err(err),
        };
        tracing::info!(
            reaction = name,
            tenant,
            position = at,
            handled = outcome.is_ok(),
            "retried a parked event"
        );
        reactions::retried(
            sql,
            tenant,
            name,
            at,
            outcome.as_ref().copied().map_err(String::as_str),
            now_millis(),
        )
        .await?;
    }

    let checkpoint = reactions::checkpoint(sql, tenant, name).await?;
    let (mut saved, mut done) = (checkpoint.position, checkpoint.position);
    let mut failures = checkpoint.failures;
    let (started, mut since) = (Instant::now(), Instant::now());
    let mut page = store.events_after(tenant, done, PAGE).await?.events;
    loop {
        // The next page is read while this one is handled.
        let full = page.len() == PAGE as usize;
        let next = full.then(|| {
            let (store, tenant) = (store.clone(), tenant.to_owned());
            let after = page.last().map_or(done, |event| event.position);
            tokio::spawn(async move { store.events_after(&tenant, after, PAGE).await })
        });
        for event in &page {
            if consumer.filter().wants(event) {
                match deliver(store, consumer, tenant, event).await {
                    Ok(()) => {
                        stats.handled.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Failure::Store(err)) => {
                        save(sql, tenant, name, saved, done).await?;
                        return Err(err);
                    }
                    Err(Failure::Handler(error)) => {
                        failures = failures.saturating_add(1);
                        stats.failures.fetch_add(1, Ordering::Relaxed);
                        if failures < consumer.tries() {
                            if !save(sql, tenant, name, saved, done).await? {
                                return Ok(Round::More);
                            }
                            reactions::failed(sql, tenant, name, done, failures, &error).await?;
                            tracing::debug!(
                                reaction = name,
                                tenant,
                                position = event.position,
                                failures,
                                error,
                                "a reaction failed; trying again"
                            );
                            return Ok(Round::Wait(backoff(consumer.first_wait(), failures)));
                        }
                        let now = now_millis();
                        reactions::park(sql, tenant, name, event.position, failures, &error, now)
                            .await?;
                        stats.parked.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            reaction = name,
                            tenant,
                            position = event.position,
                            tries = failures,
                            error,
                            "parked an event the reaction could not handle"
                        );
                    }
                }
                failures = 0;
            }
            done = event.position;
            if since.elapsed() >= SAVE_EVERY {
                if !save(sql, tenant, name, saved, done).await? {
                    return Ok(Round::More);
                }
                (saved, since) = (done, Instant::now());
            }
        }
        let Some(next) = next else { break };
        // Other tenants, retries and the claim are looked at between rounds.
        if started.elapsed() >= SAVE_EVERY {
            next.abort();
            save(sql, tenant, name, saved, done).await?;
            return Ok(Round::More);
        }
        page = next.await.map_err(|err| StoreError::failed(format!("read task: {err}")))??.events;
    }
    // Caught up; what came meanwhile has moved `store.changes()`, which wakes the next round.
    Ok(if save(sql, tenant, name, saved, done).await? { Round::Idle } else { Round::More })
}

/// Moves the checkpoint from `saved` to `done`; `false` if someone else moved it meanwhile.
async fn save(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    saved: u64,
    done: u64,
) -> Result<bool, StoreError> {
    if done == saved {
        return Ok(true);
    }
    reactions::advance(sql, tenant, name, saved, done).await
}

/// The wait after the `failures`th failed try.
fn backoff(first: Duration, failures: u32) -> Duration {
    first.saturating_mul(1 << failures.saturating_sub(1).min(20)).min(LONGEST_WAIT)
}

/// Hands `event` to `consumer` and pushes the commands it issues.
async fn deliver(
    store: &Arc<dyn Store>,
    consumer: &dyn Consumer,
    tenant: &str,
    event: &EventRow,
) -> Result<(), Failure> {
    let panicked = |panic: Box<dyn std::any::Any + Send>| {
        Failure::Handler(format!("the handler panicked: {}", panic_text(panic.as_ref())))
    };
    let handling =
        std::panic::catch_unwind(AssertUnwindSafe(|| consumer.handle(tenant, event, store)))
            .map_err(panicked)?;
    let commands = match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(Ok(commands)) => commands,
        Ok(Err(err)) => return Err(Failure::Handler(err.to_string())),
        Err(panic) => return Err(panicked(panic)),
    };
    if commands.is_empty() {
        return Ok(());
    }
    let request = WriteRequest::Commands {
        actor: format!("reaction:{}", consumer.name()),
        at: now_millis(),
        commands,
    };
    store.submit(tenant, request).await.map_err(Failure::Store)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_wait_longer_each_time_up_to_a_limit() {
        let first = Duration::from_millis(200);
        let waits: Vec<_> = (1..=4).map(|n| backoff(first, n).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600]);
        assert_eq!(backoff(first, 40), LONGEST_WAIT);
    }
}
