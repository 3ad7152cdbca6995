//! Given/when/then tests for deciders and projections, so tests read like the rules.
//!
//! - [`given`] events (or [`given_no_events`]), optionally [`at`](Given::at) a time,
//!   [`by`](Given::by) an actor or [`with_meta`](Given::with_meta) of your own;
//! - [`when`](Given::when) a command;
//! - [`then_expect`](Then::then_expect) these events (or
//!   [`then_expect_nothing`](Then::then_expect_nothing)), or [`then_reject`](Then::then_reject) with
//!   a code (and [`then_reject_with`](Then::then_reject_with) a message); then check the
//!   resulting [`state`](Then::then_state) and [`version`](Then::then_version) of a stream.
//! - Projections: [`view`](Given::view) and [`row`](Given::row) after the given events.
//!
//! ```
//! use annals_core::testing::{given, given_no_events};
//! use annals_core::{Change, Command, Context, Domain, Event, Json, Rejection, Uuid, stream_name};
//!
//! #[derive(Clone, Debug, PartialEq, Command)]
//! pub enum BellCommand {
//!     Ring { bell: Uuid },
//! }
//!
//! #[derive(Clone, Debug, PartialEq, Event)]
//! pub enum BellEvent {
//!     Rang { by: String },
//! }
//!
//! #[derive(Debug, Rejection)]
//! pub enum BellRejection {
//!     #[rejection("This bell has rung {0} times; it rings twice at most.")]
//!     WornOut(u64),
//! }
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
//!     type Rejection = BellRejection;
//!
//!     fn streams(BellCommand::Ring { bell }: &BellCommand) -> Vec<String> {
//!         vec![stream_name("bell", bell)]
//!     }
//!
//!     fn decide(_: &BellCommand, context: &Context<'_, Self>) -> Result<Vec<Change<BellEvent>>, BellRejection> {
//!         let bell = context.stream(0);
//!         if *bell.state >= 2 {
//!             return Err(BellRejection::WornOut(*bell.state));
//!         }
//!         Ok(vec![bell.append(BellEvent::Rang { by: context.actor().to_owned() })])
//!     }
//!
//!     fn evolve(rings: &mut u64, _: &BellEvent) {
//!         *rings += 1;
//!     }
//! }
//!
//! let bell = Uuid::from_u128(1);
//! let stream = stream_name("bell", &bell);
//! let rang = |by: &str| BellEvent::Rang { by: by.into() };
//! given_no_events::<Bells>()
//!     .by("ann")
//!     .when(BellCommand::Ring { bell })
//!     .then_expect([(&stream, rang("ann"))])
//!     .then_state(&stream, &1)
//!     .then_version(&stream, 1);
//! given::<Bells>([(&stream, rang("ann")), (&stream, rang("bob"))])
//!     .when(BellCommand::Ring { bell })
//!     .then_reject_with("worn_out", "This bell has rung 2 times; it rings twice at most.");
//! ```

use std::collections::HashMap;

use crate::context::Context;
use crate::domain::{Domain, Rejection};
use crate::engine::{execute, meta, with_streams};
use crate::envelope::{Envelope, Meta, Version, event_id};
use crate::json::RawJson;
use crate::stream::StreamState;
use crate::view::ViewSet;
use crate::{Position, Uuid};

/// Streams that already hold these events, in order (each recorded at the next position).
pub fn given<D: Domain>(events: impl IntoIterator<Item = (impl AsRef<str>, D::Event)>) -> Given<D> {
    let mut given = given_no_events::<D>();
    for (stream, event) in events {
        given.record(stream.as_ref(), event);
    }
    given
}

/// No events anywhere.
pub fn given_no_events<D: Domain>() -> Given<D> {
    Given {
        streams: HashMap::new(),
        log: Vec::new(),
        meta: meta(Uuid::from_u128(7), "tester", 1_700_000_000_000),
    }
}

/// The log before the command, and the metadata the command will carry.
pub struct Given<D: Domain> {
    streams: HashMap<String, StreamState<D>>,
    log: Vec<Envelope<D::Event>>,
    meta: Meta,
}

impl<D: Domain> Given<D> {
    fn record(&mut self, stream: &str, event: D::Event) {
        let state = self.streams.entry(stream.to_owned()).or_default();
        let position = self.log.len() as Position + 1;
        let envelope = Envelope {
            id: event_id(&Uuid::nil(), self.log.len()),
            stream: stream.to_owned(),
            version: state.version + 1,
            position: Some(position),
            event,
            meta: meta(Uuid::nil(), "given", 0),
        };
        state.apply(&envelope);
        self.log.push(envelope);
    }

    /// The command is sent at `at`, milliseconds since the epoch.
    pub fn at(mut self, at: i64) -> Self {
        self.meta.at = at;
        self
    }

    /// The command is sent by `actor`.
    pub fn by(mut self, actor: &str) -> Self {
        actor.clone_into(&mut self.meta.actor);
        self
    }

    /// The command carries `meta` (its id, actor, time, correlation, causation and fields).
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = meta;
        self
    }

    /// Decides `command` against the given streams.
    pub fn when(self, command: D::Command) -> Then<D> {
        let result = with_streams(
            &command,
            |name| self.streams.get(name),
            |streams| execute::<D>(&command, &self.meta, streams),
        );
        let mut after = self.streams.clone();
        if let Ok(events) = &result {
            for envelope in events {
                after.entry(envelope.stream.clone()).or_default().apply(envelope);
            }
        }
        Then { result, after }
    }

    /// The command that would undo `command` if it ran now (see [`Domain::compensate`]).
    pub fn compensation(&self, command: &D::Command) -> Option<D::Command> {
        with_streams(
            command,
            |name| self.streams.get(name),
            |streams| D::compensate(command, &Context::new(&self.meta, streams)),
        )
    }

    /// The domain's read models after the given events.
    pub fn views(&self) -> ViewSet<D> {
        ViewSet::fold(&self.log)
    }

    /// The whole view `name` after the given events, as JSON.
    ///
    /// # Panics
    /// When the domain has no such view.
    #[track_caller]
    pub fn view(&self, name: &str) -> serde_json::Value {
        let views = self.views();
        let view = views.view(name).unwrap_or_else(|| panic!("the domain has no view {name:?}"));
        parse(&view.value())
    }

    /// The row of view `name` under `key` after the given events, as JSON (`None` when it
    /// does not exist or is not listed).
    ///
    /// # Panics
    /// When the domain has no such view.
    #[track_caller]
    pub fn row(&self, name: &str, key: &str) -> Option<serde_json::Value> {
        let views = self.views();
        let view = views.view(name).unwrap_or_else(|| panic!("the domain has no view {name:?}"));
        view.get(key).map(|row| parse(&row))
    }
}

fn parse(json: &RawJson) -> serde_json::Value {
    serde_json::from_str(json.get()).unwrap_or(serde_json::Value::Null)
}

/// The outcome of a decision, to check. Each check returns the outcome, so checks chain.
pub struct Then<D: Domain> {
    result: Result<Vec<Envelope<D::Event>>, Rejection>,
    after: HashMap<String, StreamState<D>>,
}

impl<D: Domain> Then<D> {
    /// The command was accepted with exactly these events, on these streams, in this order.
    #[track_caller]
    pub fn then_expect(
        self,
        expected: impl IntoIterator<Item = (impl AsRef<str>, D::Event)>,
    ) -> Self {
        let expected: Vec<(String, D::Event)> =
            expected.into_iter().map(|(s, e)| (s.as_ref().to_owned(), e)).collect();
        match &self.result {
            Ok(events) => {
                let actual: Vec<(String, D::Event)> =
                    events.iter().map(|e| (e.stream.clone(), e.event.clone())).collect();
                assert_eq!(actual, expected, "the command produced other events");
            }
            Err(rejection) => {
                panic!("expected events {expected:?}, the command was rejected: {rejection}")
            }
        }
        self
    }

    /// The command was accepted and recorded no event (it asked for what already holds).
    #[track_caller]
    pub fn then_expect_nothing(self) -> Self {
        self.then_expect(std::iter::empty::<(String, D::Event)>())
    }

    /// The command was rejected with `code` (and some message for people).
    #[track_caller]
    pub fn then_reject(self, code: &str) -> Self {
        match &self.result {
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
        self
    }

    /// The command was rejected with `code` and exactly `message`.
    #[track_caller]
    pub fn then_reject_with(self, code: &str, message: &str) -> Self {
        let then = self.then_reject(code);
        if let Err(rejection) = &then.result {
            assert_eq!(rejection.message, message, "rejected with another message");
        }
        then
    }

    /// After the command, `stream`'s state is `expected` (the given state if it was refused).
    #[track_caller]
    pub fn then_state(self, stream: &str, expected: &D::State) -> Self {
        let empty = StreamState::default();
        let actual = self.after.get(stream).unwrap_or(&empty);
        assert_eq!(&actual.state, expected, "the state of {stream}");
        self
    }

    /// After the command, `stream` holds `expected` events.
    #[track_caller]
    pub fn then_version(self, stream: &str, expected: Version) -> Self {
        let actual = self.after.get(stream).map_or(0, |s| s.version);
        assert_eq!(actual, expected, "the version of {stream}");
        self
    }

    /// The events of an accepted command, as numbered envelopes (ids, versions, meta).
    ///
    /// # Panics
    /// When the command was rejected.
    #[track_caller]
    pub fn events(&self) -> &[Envelope<D::Event>] {
        match &self.result {
            Ok(events) => events,
            Err(rejection) => panic!("the command was rejected: {rejection}"),
        }
    }
}

/// A JSON value as the text a command's or event's `data` is carried in.
pub fn raw(value: serde_json::Value) -> crate::json::RawJson {
    crate::json::RawJson::trusted(value.to_string())
}
