//! Given/when/then tests for deciders, so tests read like the rules.
//!
//! ```
//! use annals_core::testing::{given, given_no_events};
//! use annals_core::{Change, Domain, DynView, Rejection, Uuid, commands, events, json_struct};
//! use annals_core::{no_upcast, stream_name};
//!
//! #[derive(Clone, Debug, PartialEq)]
//! pub struct Ring { pub bell: Uuid }
//! json_struct!(Ring { bell });
//! commands! { pub enum BellCommand { Ring } }
//!
//! #[derive(Clone, Debug, PartialEq)]
//! pub struct Rang {}
//! json_struct!(Rang {});
//! events! { pub enum BellEvent { Rang = 1 } upcast: no_upcast }
//!
//! /// A bell rings at most twice.
//! #[derive(Clone, Debug, Default, PartialEq)]
//! pub struct Bells;
//!
//! impl Domain for Bells {
//!     const NAME: &'static str = "bells";
//!     const CATEGORY: &'static str = "bell";
//!     const STATE_VERSION: u32 = 1;
//!     type Command = BellCommand;
//!     type Event = BellEvent;
//!     type State = u64;
//!
//!     fn streams(BellCommand::Ring(c): &BellCommand) -> Vec<String> {
//!         vec![stream_name("bell", &c.bell)]
//!     }
//!     fn decide(BellCommand::Ring(c): &BellCommand, states: &[&u64]) -> Result<Vec<Change<BellEvent>>, Rejection> {
//!         if *states[0] >= 2 {
//!             return Err(Rejection::new("worn_out", "This bell has rung twice."));
//!         }
//!         Ok(vec![(stream_name("bell", &c.bell), BellEvent::Rang(Rang {}))])
//!     }
//!     fn evolve(rings: &mut u64, _: &BellEvent) {
//!         *rings += 1;
//!     }
//!     fn compensate(_: &BellCommand, _: &[&u64]) -> Option<BellCommand> {
//!         None
//!     }
//!     fn views() -> Vec<Box<dyn DynView<Self>>> {
//!         Vec::new()
//!     }
//! }
//!
//! let bell = Uuid::from_u128(1);
//! let stream = stream_name("bell", &bell);
//! given_no_events::<Bells>()
//!     .when(BellCommand::Ring(Ring { bell }))
//!     .then_expect([(&stream, BellEvent::Rang(Rang {}))]);
//! given::<Bells>([(&stream, BellEvent::Rang(Rang {})), (&stream, BellEvent::Rang(Rang {}))])
//!     .when(BellCommand::Ring(Ring { bell }))
//!     .then_reject("worn_out");
//! ```

use std::collections::HashMap;

use crate::Uuid;
use crate::domain::{Domain, Rejection};
use crate::engine::{execute, meta};
use crate::envelope::{Envelope, event_id};
use crate::stream::StreamState;

/// Streams that already hold these events, in order.
pub fn given<D: Domain>(events: impl IntoIterator<Item = (impl AsRef<str>, D::Event)>) -> Given<D> {
    let mut streams: HashMap<String, StreamState<D>> = HashMap::new();
    for (index, (stream, event)) in events.into_iter().enumerate() {
        let state = streams.entry(stream.as_ref().to_owned()).or_default();
        let envelope = Envelope {
            id: event_id(&Uuid::nil(), index),
            stream: stream.as_ref().to_owned(),
            version: state.version + 1,
            position: None,
            event,
            meta: meta(Uuid::nil(), "given", 0),
        };
        state.apply(&envelope);
    }
    Given { streams }
}

/// No events anywhere.
pub fn given_no_events<D: Domain>() -> Given<D> {
    Given { streams: HashMap::new() }
}

/// The state before the command.
pub struct Given<D: Domain> {
    streams: HashMap<String, StreamState<D>>,
}

impl<D: Domain> Given<D> {
    /// Decides `command` against the given streams.
    pub fn when(self, command: D::Command) -> Then<D> {
        let names = D::streams(&command);
        let empty = StreamState::default();
        let streams: Vec<(&str, &StreamState<D>)> = names
            .iter()
            .map(|name| (name.as_str(), self.streams.get(name).unwrap_or(&empty)))
            .collect();
        let result = execute::<D>(&command, &meta(Uuid::from_u128(7), "tester", 1), &streams);
        Then { result }
    }
}

/// The outcome of a decision, to check.
pub struct Then<D: Domain> {
    result: Result<Vec<Envelope<D::Event>>, Rejection>,
}

impl<D: Domain> Then<D> {
    /// The command was accepted with exactly these events, on these streams, in this order.
    #[track_caller]
    pub fn then_expect(self, expected: impl IntoIterator<Item = (impl AsRef<str>, D::Event)>) {
        let expected: Vec<(String, D::Event)> =
            expected.into_iter().map(|(s, e)| (s.as_ref().to_owned(), e)).collect();
        match self.result {
            Ok(events) => {
                let actual: Vec<(String, D::Event)> =
                    events.into_iter().map(|e| (e.stream, e.event)).collect();
                assert_eq!(actual, expected, "the command produced other events");
            }
            Err(rejection) => {
                panic!("expected events {expected:?}, the command was rejected: {rejection}")
            }
        }
    }

    /// The command was rejected with `code`.
    #[track_caller]
    pub fn then_reject(self, code: &str) {
        match self.result {
            Ok(events) => panic!("expected a rejection {code:?}, the command produced {events:?}"),
            Err(rejection) => {
                assert_eq!(
                    rejection.code, code,
                    "rejected for another reason: {}",
                    rejection.message
                );
                assert!(!rejection.message.is_empty(), "a rejection needs a message for people");
            }
        }
    }
}

/// A JSON value as the text a command's or event's `data` is carried in.
pub fn raw(value: serde_json::Value) -> crate::json::RawJson {
    crate::json::RawJson::trusted(value.to_string())
}
