//! The decider: a domain's commands, events, stream state and rules.

use std::fmt;

use crate::event::{DecodeError, EventData};
use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};
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

/// A domain's command enum: each variant has a wire name and a JSON payload.
///
/// Implemented by the [`commands!`](crate::commands) macro, which also gives the enum its
/// wire form `{"type", "data"}` through [`serialize_command`] and [`deserialize_command`].
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
    type Command: CommandData + Clone + fmt::Debug + PartialEq + ToJson + FromJson;
    /// What happened.
    type Event: EventData + Clone + fmt::Debug + PartialEq + ToJson + FromJson;
    /// One stream's state; `Default` is the state of a stream with no events.
    type State: Clone + fmt::Debug + Default + PartialEq + ToJson + FromJson;

    /// The streams a command reads and may append to, in a fixed order.
    fn streams(command: &Self::Command) -> Vec<String>;

    /// Decides a command against the states of its [`streams`](Domain::streams), in the same
    /// order: the events to append, each with its stream, or a rejection.
    fn decide(
        command: &Self::Command,
        states: &[&Self::State],
    ) -> Result<Vec<Change<Self::Event>>, Rejection>;

    /// Folds one event into its stream's state.
    fn evolve(state: &mut Self::State, event: &Self::Event);

    /// The command that undoes `command`, given the states its streams had before it ran;
    /// `None` when it cannot be undone. Undo appends new events; history is kept.
    fn compensate(command: &Self::Command, before: &[&Self::State]) -> Option<Self::Command>;

    /// The domain's read models, empty.
    fn views() -> Vec<Box<dyn DynView<Self>>>;
}

/// Declares a domain's command enum: one variant per command type, each wrapping a payload
/// struct of the same name. On the wire a command is `{"type": "<Variant>", "data": {...}}`.
#[macro_export]
macro_rules! commands {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis enum $name { $($(#[$vmeta])* #[doc = concat!("See [`", stringify!($variant), "`].")] $variant($variant)),* }

        impl $crate::CommandData for $name {
            fn command_type(&self) -> &str {
                match self { $(Self::$variant(_) => stringify!($variant)),* }
            }

            fn write_data(&self, w: &mut $crate::json::Writer) {
                match self { $(Self::$variant(c) => $crate::json::ToJson::write_json(c, w)),* }
            }

            fn decode(
                command_type: &str,
                data: &str,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                match command_type {
                    $(stringify!($variant) => $crate::json::from_str(data).map(Self::$variant).map_err(|err| {
                        $crate::DecodeError::new(
                            "invalid_command",
                            format!("{}: {err}", stringify!($variant)),
                        )
                    }),)*
                    other => ::core::result::Result::Err($crate::DecodeError::new(
                        "unknown_command_type",
                        format!("unknown command type \"{other}\""),
                    )),
                }
            }
        }

        $crate::__tagged_json!($name, write_command, read_command);
    };
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
