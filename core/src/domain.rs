//! The decider: a domain's commands, events, stream state and rules.

use std::fmt;

use crate::context::Context;
use crate::event::{DecodeError, EventData};
use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};
use crate::typescript::TypeScript;
use crate::view::DynView;

/// Why a command was refused: a stable snake_case `code` and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Stable snake_case code, e.g. `insufficient_stock`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

crate::json_struct!(Rejection { code, message });
crate::serde_via_json!(Rejection);

impl Rejection {
    /// A rejection with a stable code and a human message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Rejection { code: code.to_owned(), message: message.into() }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Rejection {}

/// A domain's reasons to refuse a command, usually an enum with `#[derive(Rejection)]`: each
/// has a stable snake_case [`code`](Reason::code) and a [`message`](Reason::message) for people.
///
/// ```
/// use annals_core::{Reason, Rejection};
///
/// #[derive(Debug, Rejection)]
/// pub enum CartRejection {
///     #[rejection("There is no product {product}.")]
///     UnknownProduct { product: String },
///     #[rejection(code = "over_limit", "A cart holds at most {0} lines.")]
///     TooManyLines(usize),
///     #[rejection("The cart was checked out.")]
///     CheckedOut,
/// }
///
/// let refused = CartRejection::UnknownProduct { product: "tea".into() };
/// assert_eq!((refused.code(), refused.message()), ("unknown_product", "There is no product tea.".into()));
/// assert_eq!(CartRejection::TooManyLines(20).code(), "over_limit");
/// assert_eq!(CartRejection::CODES, ["unknown_product", "over_limit", "checked_out"]);
/// ```
pub trait Reason: fmt::Debug + fmt::Display {
    /// Every code this type gives, in declaration order.
    const CODES: &'static [&'static str];
    /// The stable snake_case code, e.g. `insufficient_stock`.
    fn code(&self) -> &'static str;
    /// A sentence for people.
    fn message(&self) -> String;
}

/// A domain's command enum: each variant has a wire name and a JSON payload.
///
/// Implemented by `#[derive(Command)]`, which also gives the enum its wire form
/// `{"type", "data"}` through [`write_command`] and [`read_command`].
pub trait CommandData: Sized {
    /// The wire name, e.g. `"ConsumeStock"`.
    fn command_type(&self) -> &str;
    /// Writes the payload (the command's `data`).
    fn write_data(&self, w: &mut Writer);
    /// Reads a command from its wire name and payload.
    fn decode(command_type: &str, data: &str) -> Result<Self, DecodeError>;

    /// The payload as JSON text.
    fn data(&self) -> RawJson {
        let mut w = Writer::default();
        self.write_data(&mut w);
        RawJson::trusted(w.finish())
    }
}

/// Writes a command as `{"type": "<Variant>", "data": {...}}`.
#[doc(hidden)]
pub fn write_command<C: CommandData>(command: &C, w: &mut Writer) {
    write_tagged(command.command_type(), w, &mut |w| command.write_data(w));
}

/// Reads a command written by [`write_command`]: the payload is kept as text until its type
/// is known, then decoded once.
#[doc(hidden)]
pub fn read_command<C: CommandData>(r: &mut Reader<'_>) -> Result<C, json::Error> {
    let (kind, data) = read_tagged(r)?;
    C::decode(&kind, data).map_err(|e| r.error(&e.to_string()))
}

/// Writes `{"type": kind, "data": payload}`.
pub(crate) fn write_tagged(kind: &str, w: &mut Writer, payload: &mut dyn FnMut(&mut Writer)) {
    w.begin_object();
    w.field("type", kind);
    w.key("data");
    payload(w);
    w.end_object();
}

/// Reads `{"type", "data"}`, the payload as text.
pub(crate) fn read_tagged<'a>(r: &mut Reader<'a>) -> Result<(String, &'a str), json::Error> {
    let (mut kind, mut data) = (None, None);
    json::read_fields(r, &mut |r, key| match key {
        "type" => json::read_slot(r, &mut kind, "type"),
        "data" => {
            data = Some(r.raw()?);
            Ok(true)
        }
        _ => Ok(false),
    })?;
    Ok((json::take_slot(kind, "type")?, data.ok_or_else(|| json::Error::missing("data"))?))
}

/// One event a decision appends, with the stream it goes to.
pub type Change<E> = (String, E);

/// A domain in the decider pattern: commands are decided against the current state of the
/// streams they name; events are folded into that state. Both functions are pure.
///
/// Business rules live only in [`decide`](Domain::decide); [`evolve`](Domain::evolve) only folds.
pub trait Domain: Sized + Clone + fmt::Debug + PartialEq + Default + 'static {
    /// The domain's name as the package and the server know it, e.g. `"todo"`.
    const NAME: &'static str;
    /// The category of the domain's streams, e.g. `"item"`.
    const CATEGORY: &'static str;
    /// The version of [`evolve`](Domain::evolve): a snapshot made by another version is ignored.
    const STATE_VERSION: u32;

    /// What users ask for.
    type Command: CommandData + Clone + fmt::Debug + PartialEq + ToJson + FromJson + TypeScript;
    /// What happened.
    type Event: EventData + Clone + fmt::Debug + PartialEq + ToJson + FromJson + TypeScript;
    /// One stream's state; `Default` is the state of a stream with no events.
    type State: Clone + fmt::Debug + Default + PartialEq + ToJson + FromJson + TypeScript;
    /// Why a command is refused: usually an enum with `#[derive(Rejection)]`.
    type Rejection: Reason;

    /// The streams a command reads and may append to, in a fixed order.
    fn streams(command: &Self::Command) -> Vec<String>;

    /// Decides a command against the streams it named (see [`Context::stream`]): the events
    /// to append, each with its stream, or why it is refused.
    fn decide(
        command: &Self::Command,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<Self::Event>>, Self::Rejection>;

    /// Folds one event into its stream's state.
    fn evolve(state: &mut Self::State, event: &Self::Event);

    /// The state of `stream` before its first event is folded: `Default`, unless the domain
    /// has several kinds of streams, each with a state type of its own; then its `State` is
    /// [`Kinds2`](crate::Kinds2) (or more) and this is `Kinds2::of(stream)`, which picks the
    /// kind by the stream's category. (`decide` sees a stream with no events in its
    /// `Default` state, `Kinds2::Other` then: the stream is new.)
    fn initial(stream: &str) -> Self::State {
        let _ = stream;
        Self::State::default()
    }

    /// The command that undoes `command`, seen in the context it was decided in (the states
    /// before it ran); `None` when it cannot be undone, which is the default. Undo appends
    /// new events; history is kept.
    ///
    /// A compensation takes back this command's effect and nothing else, so that it commutes
    /// with what other devices did meanwhile: make it relative (what was added is taken away,
    /// a count is undone by the difference it made) rather than restoring a value read from
    /// `before`, which would erase every change made since. A value that can only be set, such
    /// as a name, is set back on a condition the command carries: that it still holds what
    /// `command` set (compare-and-set), so the undo is refused rather than overwrite another
    /// device's change.
    ///
    /// A [`Replica`](crate::Replica) asks again once the server's events of `command` arrive,
    /// with `before` as the server decided it, and never sends the compensation before
    /// `command` is accepted: if `command` is refused, so is its undo (see
    /// [`Replica::undo`](crate::Replica::undo)).
    fn compensate(command: &Self::Command, before: &Context<'_, Self>) -> Option<Self::Command> {
        let _ = (command, before);
        None
    }

    /// The domain's read models, empty; none by default.
    fn views() -> Vec<Box<dyn DynView<Self>>> {
        Vec::new()
    }
}

/// Gives a command or event enum its `{"type", "data"}` wire form through the named helpers.
#[doc(hidden)]
#[macro_export]
macro_rules! __tagged_json {
    ($name:ident, $write:ident, $read:ident) => {
        impl $crate::json::ToJson for $name {
            fn write_json(&self, w: &mut $crate::json::Writer) {
                $crate::$write(self, w)
            }
        }

        impl $crate::json::FromJson for $name {
            fn read_json(
                r: &mut $crate::json::Reader<'_>,
            ) -> ::core::result::Result<Self, $crate::json::Error> {
                $crate::$read(r)
            }
        }

        $crate::serde_via_json!($name);
    };
}
