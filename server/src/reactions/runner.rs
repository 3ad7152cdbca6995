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
use annals_core::Position;

/// How often a node tries to claim a consumer another node holds, and how long a consumer
/// that is caught up waits at most before looking again (for new tenants and retries).
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);

/// How long a caught-up consumer waits after a commit before it reads the log.
const GATHER: Duration = Duration::from_millis(5);

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
    let mut runner = Runner {
        store: &store,
        consumer: consumer.as_ref(),
        stats: &stats,
        places: HashMap::new(),
        waiting: HashMap::new(),
        tenants: Vec::new(),
        looked: None,
    };
    loop {
        match claimant.claim().await {
            Ok(true) => {
                if !stats.running.swap(true, Ordering::Relaxed) {
                    tracing::info!(reaction = %name, "running the reaction on this node");
                }
            }
            claimed => {
                if let Err(err) = claimed {
                    tracing::debug!(reaction = %name, error = %err, "cannot claim the reaction");
                }
                stats.running.store(false, Ordering::Relaxed);
                // Another node may move the checkpoints meanwhile.
                runner.forget();
                tokio::time::sleep(CLAIM_EVERY).await;
                continue;
            }
        }
        changes.borrow_and_update();
        let sql = claimant.sql();
        let round = match runner.all_tenants(sql).await {
            // Nothing more came meanwhile: what was handled is saved now, not a second later.
            Ok(Round::Idle) if !changes.has_changed().unwrap_or(false) => {
                runner.save_all(sql).await.map(|()| Round::Idle)
            }
            other => other,
        };
        let round = round.unwrap_or_else(|err| {
            tracing::warn!(reaction = %name, error = %err, "a reaction's round failed; trying again");
            runner.forget();
            Round::Wait(AFTER_FAULT)
        });
        match round {
            Round::More => {}
            Round::Wait(wait) => tokio::time::sleep(wait).await,
            Round::Idle => {
                if let Ok(Ok(())) = tokio::time::timeout(CLAIM_EVERY, changes.changed()).await {
                    // Lets the commits that follow this one gather into the next round's
                    // page: under load, a round per commit would cost the writer its CPU.
                    tokio::time::sleep(GATHER).await;
                }
            }
        }
    }
}

/// Where a consumer is in a tenant's log, as this node knows it while it holds the consumer.
struct Place {
    /// The checkpoint as last saved (or read).
    saved: Position,
    /// The last position handled or passed over: saved every [`SAVE_EVERY`], and whenever
    /// the consumer has caught up.
    done: Position,
    /// Failed tries of the event after `done`.
    failures: u32,
    /// When it was last saved.
    since: Instant,
    /// Whether the stored checkpoint was found moved from under it: read it again.
    stale: bool,
}

/// One consumer's rounds on this node.
struct Runner<'a> {
    store: &'a Arc<dyn Store>,
    consumer: &'a dyn Consumer,
    stats: &'a Stats,
    /// Its place in each tenant's log.
    places: HashMap<String, Place>,
    /// Tenants whose last try failed, and when to try again.
    waiting: HashMap<String, Instant>,
    /// The tenants, as last read.
    tenants: Vec<String>,
    /// When the tenants, the stored checkpoints and the retries asked for were last read.
    looked: Option<Instant>,
}

impl Runner<'_> {
    /// Forgets what it keeps of the database, to read it all again.
    fn forget(&mut self) {
        self.places.clear();
        self.looked = None;
    }

    /// A round over every tenant's log, but those still waiting after a failure. Every
    /// [`CLAIM_EVERY`] it reads the tenants, the stored checkpoints and the retries asked for
    /// again; in between, a round under load reads the log only.
    async fn all_tenants(&mut self, sql: &dyn Sql) -> Result<Round, StoreError> {
        let mut round = Round::Idle;
        let now = Instant::now();
        let look = self.looked.is_none_or(|at| now.duration_since(at) >= CLAIM_EVERY);
        if look {
            self.tenants = self.store.tenants().await?;
            self.looked = Some(now);
        }
        for tenant in self.tenants.clone() {
            if self.waiting.get(&tenant).is_some_and(|until| *until > now) {
                continue;
            }
            self.waiting.remove(&tenant);
            match self.one_tenant(sql, &tenant, look).await? {
                Round::Wait(wait) => {
                    self.waiting.insert(tenant, now + wait);
                }
                other => round = round.max(other),
            }
        }
        if round == Round::Idle
            && let Some(until) = self.waiting.values().min()
        {
            return Ok(Round::Wait(until.saturating_duration_since(now)));
        }
        Ok(round)
    }

    /// Saves every place with events handled since it was last saved.
    async fn save_all(&mut self, sql: &dyn Sql) -> Result<(), StoreError> {
        let name = self.consumer.name();
        let mut moved = Vec::new();
        for (tenant, place) in &mut self.places {
            if !save(sql, tenant, name, place).await? {
                moved.push(tenant.clone());
            }
        }
        for tenant in moved {
            self.places.remove(&tenant);
        }
        Ok(())
    }

    /// The parked events an operator asked to retry, tried once each.
    async fn retries(&self, sql: &dyn Sql, tenant: &str) -> Result<(), StoreError> {
        let (store, consumer, name) = (self.store, self.consumer, self.consumer.name());
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
            let handled = outcome.is_ok();
            tracing::info!(
                reaction = name,
                tenant,
                position = at,
                handled,
                "retried a parked event"
            );
            let outcome = outcome.as_ref().copied().map_err(String::as_str);
            reactions::retried(sql, tenant, name, at, outcome, now_millis()).await?;
        }
        Ok(())
    }

    /// This node's place in `tenant`'s log: the one it keeps, unless the stored checkpoint
    /// moved from under it (an operator's reset, another node), then the stored one. The
    /// stored one is read when it has none, or when told to `look`.
    async fn place(
        &mut self,
        sql: &dyn Sql,
        tenant: &str,
        look: bool,
    ) -> Result<&mut Place, StoreError> {
        if !look && self.places.get(tenant).is_some_and(|place| !place.stale) {
            return self.places.get_mut(tenant).ok_or_else(|| StoreError::failed("no place"));
        }
        let stored = reactions::checkpoint(sql, tenant, self.consumer.name()).await?;
        let kept = self
            .places
            .get(tenant)
            .is_some_and(|place| !place.stale && place.saved == stored.position);
        if !kept {
            let place = Place {
                saved: stored.position,
                done: stored.position,
                failures: stored.failures,
                since: Instant::now(),
                stale: false,
            };
            self.places.insert(tenant.to_owned(), place);
        }
        self.places.get_mut(tenant).ok_or_else(|| StoreError::failed("no place"))
    }

    /// A round over `tenant`'s log; when told to `look`, the retries asked for first, and
    /// the stored checkpoint.
    async fn one_tenant(
        &mut self,
        sql: &dyn Sql,
        tenant: &str,
        look: bool,
    ) -> Result<Round, StoreError> {
        if look {
            self.retries(sql, tenant).await?;
        }
        let (store, consumer, stats, name) =
            (self.store, self.consumer, self.stats, self.consumer.name());
        let place = self.place(sql, tenant, look).await?;
        let started = Instant::now();
        let mut page = store.events_after(tenant, place.done, PAGE).await?.events;
        loop {
            // The next page is read while this one is handled.
            let full = page.len() == PAGE as usize;
            let next = full.then(|| {
                let (store, tenant) = (store.clone(), tenant.to_owned());
                let after = page.last().map_or(place.done, |event| event.position);
                tokio::spawn(async move { store.events_after(&tenant, after, PAGE).await })
            });
            if next.is_some() {
                // Lets another thread start the read before the handling below, which need
                // not wait for anything.
                tokio::task::yield_now().await;
            }
            for event in &page {
                if consumer.filter().wants(event) {
                    match deliver(store, consumer, tenant, event).await {
                        Ok(()) => {
                            stats.handled.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Failure::Store(err)) => {
                            save(sql, tenant, name, place).await?;
                            return Err(err);
                        }
                        Err(Failure::Handler(error)) => {
                            place.failures = place.failures.saturating_add(1);
                            let failures = place.failures;
                            stats.failures.fetch_add(1, Ordering::Relaxed);
                            if failures < consumer.tries() {
                                if !save(sql, tenant, name, place).await? {
                                    return Ok(Round::More);
                                }
                                reactions::failed(sql, tenant, name, place.done, failures, &error)
                                    .await?;
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
                            reactions::park(
                                sql,
                                tenant,
                                name,
                                event.position,
                                failures,
                                &error,
                                now,
                            )
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
                    place.failures = 0;
                }
                place.done = event.position;
            }
            if place.since.elapsed() >= SAVE_EVERY && !save(sql, tenant, name, place).await? {
                return Ok(Round::More);
            }
            let Some(next) = next else { break };
            // Other tenants, retries and the claim are looked at between rounds.
            if started.elapsed() >= SAVE_EVERY {
                next.abort();
                return Ok(Round::More);
            }
            let read = next.await.map_err(|err| StoreError::failed(format!("read task: {err}")))?;
            page = read?.events;
        }
        Ok(Round::Idle)
    }
}

/// Saves `place` when it moved since it was last saved; `false` if someone else moved the
/// stored checkpoint meanwhile.
async fn save(
    sql: &dyn Sql,
    tenant: &str,
    name: &str,
    place: &mut Place,
) -> Result<bool, StoreError> {
    if place.done == place.saved {
        return Ok(true);
    }
    let saved = reactions::advance(sql, tenant, name, place.saved, place.done).await?;
    if saved {
        (place.saved, place.since) = (place.done, Instant::now());
    } else {
        place.stale = true;
    }
    Ok(saved)
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
