//! Event payloads: how a domain's event enum maps to the wire's `type`, `schema` and `data`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A domain's event enum: each variant has a wire name, a schema number and a JSON payload.
///
/// Implemented by the [`events!`](crate::events) macro for domains, and by [`RawEvent`] for
/// events whose type the caller does not know.
pub trait EventData: Sized {
    /// The wire name, e.g. `"StockConsumed"`.
    fn event_type(&self) -> &str;
    /// The payload's schema number as written today.
    fn schema(&self) -> u32;
    /// Writes the payload (the envelope's `data`).
    fn encode_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
    /// The schema the code writes today for `event_type`, if the type is known.
    fn schema_of(event_type: &str) -> Option<u32>;
    /// Reads a payload of `event_type` written with `schema`, upcasting older schemas first.
    fn decode(event_type: &str, schema: u32, data: &RawValue) -> Result<Self, DecodeError>;

    /// The payload as JSON text.
    fn data_json(&self) -> String {
        serde_json::to_string(&Payload(self)).unwrap_or_else(|_| "null".to_owned())
    }
}

/// An event whose payload is kept as plain JSON: what the wire carries before a domain
/// decodes it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// The wire name.
    pub event_type: String,
    /// The payload's schema number.
    pub schema: u32,
    /// The payload.
    pub data: Value,
}

impl EventData for RawEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn schema(&self) -> u32 {
        self.schema
    }

    fn encode_data<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(serializer)
    }

    fn schema_of(_event_type: &str) -> Option<u32> {
        None
    }

    fn decode(event_type: &str, schema: u32, data: &RawValue) -> Result<Self, DecodeError> {
        let data = serde_json::from_str(data.get())
            .map_err(|err| DecodeError::new("invalid_event", err.to_string()))?;
        Ok(RawEvent { event_type: event_type.to_owned(), schema, data })
    }
}

/// An event's payload, written through [`EventData::encode_data`].
pub(crate) struct Payload<'a, E>(pub &'a E);

impl<E: EventData> Serialize for Payload<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.encode_data(serializer)
    }
}

/// Writes an event outside an envelope (e.g. in a view's row) as `{"type", "data"}`.
#[doc(hidden)]
pub fn serialize_event<E: EventData, S: Serializer>(
    event: &E,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    crate::domain::serialize_tagged(event.event_type(), &Payload(event), serializer)
}

/// Reads an event written by [`serialize_event`], at the schema the code writes today.
#[doc(hidden)]
pub fn deserialize_event<'de, E: EventData, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<E, D::Error> {
    let tagged = crate::domain::Tagged::deserialize(deserializer)?;
    let schema = E::schema_of(&tagged.kind).unwrap_or(1);
    E::decode(&tagged.kind, schema, &tagged.data).map_err(serde::de::Error::custom)
}

/// Why stored or submitted JSON could not be read as a known event or command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeError {
    /// Stable snake_case code: `unknown_event_type`, `unknown_command_type`, `invalid_event`,
    /// `invalid_command`, `unsupported_schema`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl DecodeError {
    /// A decode error with a stable code and a human message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        DecodeError { code: code.to_owned(), message: message.into() }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Upgrades the JSON of an older schema to the current one, before decoding.
pub type Upcaster = fn(event_type: &str, schema: u32, data: Value) -> Result<Value, DecodeError>;

/// An upcaster for domains that never changed a schema.
pub fn no_upcast(event_type: &str, schema: u32, _data: Value) -> Result<Value, DecodeError> {
    Err(DecodeError::new("unsupported_schema", format!("{event_type} has no schema {schema}")))
}

/// Decodes one payload of a known type, upcasting it when it was written with an older schema.
#[doc(hidden)]
pub fn decode_payload<T: serde::de::DeserializeOwned>(
    event_type: &str,
    schema: u32,
    current: u32,
    data: &RawValue,
    upcast: Upcaster,
) -> Result<T, DecodeError> {
    let invalid = |err: serde_json::Error| {
        DecodeError::new("invalid_event", format!("{event_type} (schema {schema}): {err}"))
    };
    if schema == current {
        return serde_json::from_str(data.get()).map_err(invalid);
    }
    if schema > current || schema == 0 {
        return Err(DecodeError::new(
            "unsupported_schema",
            format!("{event_type} schema {schema} is newer than this code's {current}"),
        ));
    }
    // Through text, not `from_value`: one deserializer for every payload keeps the package small.
    let old: Value = serde_json::from_str(data.get()).map_err(invalid)?;
    let new = serde_json::to_string(&upcast(event_type, schema, old)?).map_err(invalid)?;
    serde_json::from_str(&new).map_err(invalid)
}

/// Declares a domain's event enum: one variant per event type, each wrapping a payload struct
/// of the same name, with the schema number the code writes today.
///
/// ```
/// use annals_core::{events, EventData, no_upcast};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// pub struct Rang { pub times: u32 }
///
/// events! {
///     /// Things that happen to a bell.
///     pub enum BellEvent { Rang = 1 }
///     upcast: no_upcast
/// }
///
/// let event = BellEvent::Rang(Rang { times: 2 });
/// assert_eq!((event.event_type(), event.schema()), ("Rang", 1));
/// ```
#[macro_export]
macro_rules! events {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $schema:literal),* $(,)? }
        upcast: $upcast:path
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis enum $name { $($(#[$vmeta])* #[doc = concat!("See [`", stringify!($variant), "`].")] $variant($variant)),* }

        impl $crate::EventData for $name {
            fn event_type(&self) -> &str {
                match self { $(Self::$variant(_) => stringify!($variant)),* }
            }

            fn schema(&self) -> u32 {
                match self { $(Self::$variant(_) => $schema),* }
            }

            fn schema_of(event_type: &str) -> Option<u32> {
                match event_type { $(stringify!($variant) => Some($schema),)* _ => None }
            }

            fn encode_data<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(Self::$variant(e) => $crate::__serde::Serialize::serialize(e, s)),* }
            }

            fn decode(
                event_type: &str,
                schema: u32,
                data: &$crate::__RawValue,
            ) -> Result<Self, $crate::DecodeError> {
                match event_type {
                    $(stringify!($variant) => $crate::decode_payload(
                        event_type, schema, $schema, data, $upcast,
                    ).map(Self::$variant),)*
                    other => Err($crate::DecodeError::new(
                        "unknown_event_type",
                        format!("unknown event type {other:?}"),
                    )),
                }
            }
        }

        $crate::__tagged_serde!($name, serialize_event, deserialize_event);
    };
}
