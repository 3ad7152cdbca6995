//! [`Context`]: what a decision sees besides the command.

use uuid::Uuid;

use crate::domain::{Change, Domain};
use crate::envelope::{Meta, Version};
use crate::stream::StreamState;

/// What [`Domain::decide`] sees besides the command: the streams the command named (in
/// [`Domain::streams`] order, each with its name, version and state) and the command's
/// metadata (its id, who sent it and when, and what the caller attached).
///
/// ```
/// # use annals_core::{Context, Domain};
/// # fn demo<D: Domain>(context: &Context<'_, D>, event: D::Event) {
/// let cart = context.stream(0);
/// let when = context.at();
/// let change = cart.append(event); // (the stream's name, the event)
/// # }
/// ```
pub struct Context<'a, D: Domain> {
    meta: &'a Meta,
    streams: &'a [(&'a str, &'a StreamState<D>)],
}

/// One stream a command named, as it stands before the command.
pub struct Stream<'a, D: Domain> {
    /// Its name, `category-id`.
    pub name: &'a str,
    /// How many events it holds (0 when it has none).
    pub version: Version,
    /// Its state (`Default` when it has no events).
    pub state: &'a D::State,
}

impl<D: Domain> Clone for Stream<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: Domain> Copy for Stream<'_, D> {}

impl<D: Domain> Stream<'_, D> {
    /// `event`, to be appended to this stream.
    pub fn append(&self, event: D::Event) -> Change<D::Event> {
        (self.name.to_owned(), event)
    }

    /// Whether the stream has no events yet.
    pub fn is_new(&self) -> bool {
        self.version == 0
    }
}

impl<'a, D: Domain> Context<'a, D> {
    /// The context of a command with `meta` over `streams`, as [`Domain::streams`] named them.
    pub fn new(meta: &'a Meta, streams: &'a [(&'a str, &'a StreamState<D>)]) -> Self {
        Context { meta, streams }
    }

    /// The `index`-th stream the command named.
    ///
    /// # Panics
    /// When the domain's [`streams`](Domain::streams) named fewer: a mistake in the domain,
    /// which its own tests show at once.
    #[track_caller]
    pub fn stream(&self, index: usize) -> Stream<'a, D> {
        match self.get(index) {
            Some(stream) => stream,
            None => panic!(
                "decide asked for stream {index}, but streams() named {} for this command",
                self.streams.len()
            ),
        }
    }

    /// The `index`-th stream the command named, if it named that many (a command over a
    /// list may name none).
    pub fn get(&self, index: usize) -> Option<Stream<'a, D>> {
        let &(name, stream) = self.streams.get(index)?;
        Some(Stream { name, version: stream.version, state: &stream.state })
    }

    /// Every stream the command named, in order.
    pub fn streams(&self) -> impl Iterator<Item = Stream<'a, D>> + '_ {
        (0..self.streams.len()).filter_map(|index| self.get(index))
    }

    /// The command's id.
    pub fn command_id(&self) -> Uuid {
        self.meta.command
    }

    /// Who sent the command.
    pub fn actor(&self) -> &'a str {
        &self.meta.actor
    }

    /// When, in milliseconds since the Unix epoch (given by the caller: the server's clock,
    /// or the browser's for an optimistic decision).
    pub fn at(&self) -> i64 {
        self.meta.at
    }

    /// The command's whole metadata, with its correlation and causation ids and the
    /// caller's own fields.
    pub fn meta(&self) -> &'a Meta {
        self.meta
    }

    /// One of the caller's own metadata fields, as JSON text.
    pub fn field(&self, name: &str) -> Option<&'a str> {
        self.meta.fields.as_ref()?.get(name)
    }
}
