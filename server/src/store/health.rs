//! How a store's connections are doing: which parts are down and why (for readiness), how
//! often each connected again (for `/metrics`), and when a failed connection may be tried
//! again ([`Backoff`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::StoreError;

/// The first wait after a failed attempt to connect; each further failure doubles it.
const FIRST_WAIT: Duration = Duration::from_millis(100);

/// The longest wait between two attempts, so a connection is back within about that long
/// of its database.
const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// A part of a store that holds connections of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The one writer of the process.
    Writer,
    /// The connections that serve reads.
    Readers,
    /// PostgreSQL's listener for other nodes' commits.
    Listener,
    /// PostgreSQL's sessions that hold this node's claims on reaction consumers.
    Reactions,
}

impl Part {
    /// Every part, in the order `/metrics` and readiness list them.
    pub const ALL: [Part; 4] = [Part::Writer, Part::Readers, Part::Listener, Part::Reactions];

    /// Its name in `/metrics` and `/healthz/ready`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Writer => "writer",
            Part::Readers => "readers",
            Part::Listener => "listener",
            Part::Reactions => "reactions",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The state of a store's parts, shared by the store and the health endpoints.
///
/// A part is down when its last attempt to do its work failed because of the database
/// (unreachable, read-only, locked), and up again once an attempt succeeds; a part that is
/// down keeps trying by itself, with backoff, so it comes back without traffic.
#[derive(Debug, Default)]
pub struct Health {
    down: Mutex<Vec<(Part, StoreError)>>,
    reconnects: [AtomicU64; 4],
    failed_connects: [AtomicU64; 4],
}

impl Health {
    fn parts(&self) -> std::sync::MutexGuard<'_, Vec<(Part, StoreError)>> {
        self.down.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// The parts that are down, with the error that put each down.
    pub fn down(&self) -> Vec<(Part, StoreError)> {
        self.parts().clone()
    }

    /// How many times `part` connected again after losing a connection or failing to make one.
    pub fn reconnects(&self, part: Part) -> u64 {
        self.reconnects[part.index()].load(Ordering::Relaxed)
    }

    /// How many of `part`'s attempts to connect failed.
    pub fn failed_connects(&self, part: Part) -> u64 {
        self.failed_connects[part.index()].load(Ordering::Relaxed)
    }

    /// Records that `part` cannot work, and why.
    pub(crate) fn set_down(&self, part: Part, error: &StoreError) {
        let mut down = self.parts();
        down.retain(|(p, _)| *p != part);
        down.push((part, error.clone()));
    }

    /// Records that `part` works.
    pub(crate) fn set_up(&self, part: Part) {
        self.parts().retain(|(p, _)| *p != part);
    }

    /// Counts a connection of `part` made again.
    pub(crate) fn reconnected(&self, part: Part) {
        self.reconnects[part.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed attempt of `part` to connect.
    pub(crate) fn connect_failed(&self, part: Part) {
        self.failed_connects[part.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// When a connection that failed may be tried again: at once the first time, then after
/// 100 ms, doubling with each failure up to [`LONGEST_WAIT`], each wait shortened by up to a
/// quarter at random so that many nodes do not all knock at once.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
    next: Option<Instant>,
}

impl Backoff {
    /// How long until the next attempt (zero: now).
    pub(crate) fn wait(&self) -> Duration {
        self.next.map_or(Duration::ZERO, |next| next.saturating_duration_since(Instant::now()))
    }

    /// Whether the last attempt failed.
    pub(crate) fn failing(&self) -> bool {
        self.failures > 0
    }

    /// Records a failed attempt and schedules the next.
    pub(crate) fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let doubled = FIRST_WAIT.saturating_mul(1 << (self.failures - 1).min(16));
        let wait = doubled.min(LONGEST_WAIT);
        let jitter = (uuid::Uuid::new_v4().as_u128() % 256) as u32;
        let wait = wait - wait / 4 * jitter / 256;
        self.next = Some(Instant::now() + wait);
    }

    /// Records a successful attempt: the next failure is tried again at once.
    pub(crate) fn succeeded(&mut self) {
        *self = Backoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_connection_waits_longer_each_time_up_to_a_limit() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.wait(), Duration::ZERO, "the first attempt goes at once");
        let mut waits = Vec::new();
        for _ in 0..8 {
            backoff.failed();
            waits.push(backoff.wait());
        }
        assert!(
            waits[0] <= FIRST_WAIT && waits[0] >= FIRST_WAIT * 3 / 4 - Duration::from_millis(5)
        );
        assert!(waits[2] > waits[0] * 2, "{waits:?}");
        assert!(waits.iter().all(|wait| *wait <= LONGEST_WAIT), "{waits:?}");
        assert!(waits[7] >= LONGEST_WAIT * 3 / 4 - Duration::from_millis(5), "{waits:?}");
        backoff.succeeded();
        assert_eq!(backoff.wait(), Duration::ZERO);
        assert!(!backoff.failing());
    }

    #[test]
    fn a_part_is_down_until_it_works_again() {
        let health = Health::default();
        assert!(health.down().is_empty());
        let lost = StoreError::new(super::super::Fault::Unreachable, "connection refused");
        health.set_down(Part::Listener, &lost);
        health.set_down(Part::Listener, &lost);
        health.set_down(Part::Writer, &lost);
        let down: Vec<Part> = health.down().into_iter().map(|(part, _)| part).collect();
        assert_eq!(down, [Part::Listener, Part::Writer]);
        health.set_up(Part::Listener);
        health.reconnected(Part::Listener);
        assert_eq!(health.down().len(), 1);
        assert_eq!(health.reconnects(Part::Listener), 1);
        assert_eq!(health.reconnects(Part::Writer), 0);
    }
}
