//! The decider: a domain's commands, events, stream state and rules.

use std::fmt;

use std::borrow::Cow;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::event::{DecodeError, EventData};
use crate::view::DynView;

/// Why a command was refused: a stable snake_case `code` and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Stable snake_case code, e.g. `insufficient_stock`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

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
    fn encode_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
    /// Reads a command from its wire name and payload.
    fn decode(command_type: &str, data: &RawValue) -> Result<Self, DecodeError>;

    /// The payload as JSON text.
    fn data(&self) -> Box<RawValue> {
        serde_json::value::to_raw_value(&Payload(self))
            .unwrap_or_else(|_| RawValue::NULL.to_owned())
    }
}

struct Payload<'a, C>(&'a C);

impl<C: CommandData> Serialize for Payload<'_, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.encode_data(serializer)
    }
}

/// Writes a command as `{"type": "<Variant>", "data": {...}}`.
#[doc(hidden)]
pub fn serialize_command<C: CommandData, S: Serializer>(
    command: &C,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serialize_tagged(command.command_type(), &Payload(command), serializer)
}

/// Reads a command written by [`serialize_command`]: the payload is kept as text until its
/// type is known, then decoded once (no buffering of the payload in between).
#[doc(hidden)]
pub fn deserialize_command<'de, C: CommandData, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<C, D::Error> {
    let tagged = Tagged::deserialize(deserializer)?;
    C::decode(&tagged.kind, &tagged.data).map_err(de::Error::custom)
}

/// The wire form of a command or an event outside an envelope: `{"type", "data"}`.
#[derive(Deserialize)]
pub(crate) struct Tagged<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub data: Box<RawValue>,
}

/// Writes `{"type": kind, "data": payload}`.
pub(crate) fn serialize_tagged<S: Serializer>(
    kind: &str,
    payload: &impl Serialize,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut s = serializer.serialize_struct("Tagged", 2)?;
    s.serialize_field("type", kind)?;
    s.serialize_field("data", payload)?;
    s.end()
}

/// One event a decision appends, with the stream it goes to.
pub type Change<E> = (String, E);

/// A domain in the decider pattern: commands are decided against the current state of the
/// streams they name; events are folded into that state. Both functions are pure.
///
/// Business rules live only in [`decide`](Domain::decide); [`evolve`](Domain::evolve) only folds.
pub trait Domain: Sized + Clone + fmt::Debug + PartialEq + Default + 'static {
    /// The domain's name as the package and the server know it, e.g. `"inventory"`.
    const NAME: &'static str;
    /// The category of the domain's streams, e.g. `"item"`.
    const CATEGORY: &'static str;
    /// The version of [`evolve`](Domain::evolve): a snapshot made by another version is ignored.
    const STATE_VERSION: u32;

    /// What users ask for.
    type Command: CommandData + Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned;
    /// What happened.
    type Event: EventData + Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned;
    /// One stream's state; `Default` is the state of a stream with no events.
    type State: Clone + fmt::Debug + Default + PartialEq + Serialize + DeserializeOwned;

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

/// Trimmed text of 1 to `max` characters.
pub(crate) fn text(value: &str, max: usize, code: &str, what: &str) -> Result<String, Rejection> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(Rejection::new(
            code,
            format!("{what} must be 1 to {max} characters, not {length}."),
        ));
    }
    Ok(value.to_owned())
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

            fn encode_data<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(Self::$variant(c) => $crate::__serde::Serialize::serialize(c, s)),* }
            }

            fn decode(
                command_type: &str,
                data: &$crate::__RawValue,
            ) -> Result<Self, $crate::DecodeError> {
                match command_type {
                    $(stringify!($variant) => $crate::__from_str(data.get()).map(Self::$variant).map_err(|err| {
                        $crate::DecodeError::new(
                            "invalid_command",
                            format!("{}: {err}", stringify!($variant)),
                        )
                    }),)*
                    other => Err($crate::DecodeError::new(
                        "unknown_command_type",
                        format!("unknown command type {other:?}"),
                    )),
                }
            }
        }

        $crate::__tagged_serde!($name, serialize_command, deserialize_command);
    };
}

/// Gives a command or event enum its `{"type", "data"}` wire form through the named helpers.
#[doc(hidden)]
#[macro_export]
macro_rules! __tagged_serde {
    ($name:ident, $serialize:ident, $deserialize:ident) => {
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::$serialize(self, s)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::$deserialize(d)
            }
        }
    };
}
