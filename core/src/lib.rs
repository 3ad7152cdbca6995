//! annals-core: the engine of annals, shared by the server and the browser package.
//!
//! - [`Domain`]: a decider. `decide` turns a command and the states of the streams it names
//!   into events or a [`Rejection`](struct@Rejection); `evolve` folds one event into a
//!   stream's state.
//! - [`Envelope`]: one recorded event with its stream, version, global position and [`Meta`].
//! - [`Projection`] and [`ViewSet`]: named, versioned read models over the global log.
//! - [`Replica`]: the client's confirmed state plus optimistic pending commands, rebased when
//!   the server's events arrive.
//! - [`protocol`]: the HTTP API's messages.
//! - [`testing`]: given/when/then for deciders.
//! - [`typescript`]: the TypeScript declarations of a domain's wire types, for its package.
//!
//! The crate does no I/O and reads no clock: ids and times come in with each command, so a
//! replay gives the same result everywhere. It builds for `wasm32-unknown-unknown`.

mod context;
mod domain;
mod engine;
mod envelope;
mod event;
pub mod json;
mod kinds;
mod log;
mod replica;
mod small_map;
mod stream;
mod view;

pub mod protocol;
pub mod testing;
pub mod typescript;

pub use annals_derive::{Command, Event, Json, Rejection};
pub use context::{Context, Stream};
pub use domain::{Change, CommandData, Domain, Reason, Rejection, read_command, write_command};
pub use engine::{execute, meta};
pub use envelope::{
    Envelope, Fields, Meta, Position, Version, category_of, event_id, id_of, stream_name,
};
pub use event::{
    DecodeError, EventData, RawEvent, Upcaster, decode_payload, decode_payload_with, no_upcast,
    read_event, write_event,
};
pub use kinds::{Kind, Kinds2, Kinds3, Kinds4};
pub use log::MemoryLog;
pub use replica::{
    DEFAULT_HISTORY, Gap, Pending, Rebased, Rejected, Replica, Saved, SavedView, Stale, Status,
    Tie, UndoStacks,
};
pub use small_map::SmallMap;
pub use stream::{Restored, Snapshot, StreamState};
pub use view::{DynView, Projection, Table, ViewSet};

pub use uuid::Uuid;

#[doc(hidden)]
pub use serde as __serde;
