//! A stream's state as a left fold of its events; snapshots; the state at any version.

use crate::domain::Domain;
use crate::envelope::{Envelope, Version};

/// A stream's decided state and the version it reflects.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamState<D: Domain> {
    /// The folded state.
    pub state: D::State,
    /// How many events were folded (0 for a stream with no events).
    pub version: Version,
}

crate::json_struct!([D: Domain] StreamState<D> { state, version });
crate::serde_via_json!([D: Domain] StreamState<D>);

impl<D: Domain> Default for StreamState<D> {
    fn default() -> Self {
        StreamState { state: D::State::default(), version: 0 }
    }
}

impl<D: Domain> StreamState<D> {
    /// Folds one event of this stream.
    pub fn apply(&mut self, envelope: &Envelope<D::Event>) {
        if self.version == 0 {
            self.state = D::initial(&envelope.stream);
        }
        D::evolve(&mut self.state, &envelope.event);
        self.version = envelope.version;
    }

    /// The state after folding `events` (in version order) from the empty stream.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Envelope<D::Event>>) -> Self {
        let mut stream = Self::default();
        stream.extend(events);
        stream
    }

    /// Folds the events after this state's version, skipping any it already holds.
    pub fn extend<'a>(&mut self, events: impl IntoIterator<Item = &'a Envelope<D::Event>>) {
        for envelope in events {
            if envelope.version > self.version {
                self.apply(envelope);
            }
        }
    }

    /// The state as it was at `version` (time travel): the fold of the first `version` events.
    pub fn at<'a>(
        events: impl IntoIterator<Item = &'a Envelope<D::Event>>,
        version: Version,
    ) -> Self {
        Self::fold(events.into_iter().take_while(|e| e.version <= version))
    }

    /// A snapshot of this state, stamped with the reducer version that made it.
    pub fn snapshot(&self) -> Snapshot<D> {
        Snapshot {
            state: self.state.clone(),
            version: self.version,
            reducer_version: D::STATE_VERSION,
        }
    }
}

/// A stream's state saved at a version, with the version of the reducer that folded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot<D: Domain> {
    /// The folded state.
    pub state: D::State,
    /// The stream version it reflects.
    pub version: Version,
    /// [`Domain::STATE_VERSION`] of the code that made it.
    pub reducer_version: u32,
}

crate::json_struct!([D: Domain] Snapshot<D> { state, version, reducer_version });
crate::serde_via_json!([D: Domain] Snapshot<D>);

impl<D: Domain> Snapshot<D> {
    /// Restores a stream from this snapshot and the events after it. A snapshot made by another
    /// reducer version is ignored and the state rebuilt from `events`, which must then hold the
    /// whole stream; [`restore`](Snapshot::restore) reports which happened.
    pub fn restore<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Envelope<D::Event>>,
    ) -> (StreamState<D>, Restored) {
        if self.reducer_version == D::STATE_VERSION {
            let mut stream = StreamState { state: self.state.clone(), version: self.version };
            stream.extend(events);
            (stream, Restored::FromSnapshot)
        } else {
            (StreamState::fold(events), Restored::Rebuilt)
        }
    }

    /// Whether this snapshot can be used by the running code.
    pub fn is_current(&self) -> bool {
        self.reducer_version == D::STATE_VERSION
    }
}

/// How [`Snapshot::restore`] produced the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restored {
    /// The snapshot was used and the tail folded on top.
    FromSnapshot,
    /// The snapshot was stale and the state rebuilt from every event.
    Rebuilt,
}
