//! Event payloads: how a domain's event enum maps to the wire's `type`, `schema` and `data`.

use std::fmt;

use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};

/// A domain's event enum: each variant has a wire name, a schema number and a JSON payload.
///
/// Implemented by `#[derive(Event)]` for domains, and by [`RawEvent`] for events whose type
/// the caller does not know.
pub trait EventData: Sized {
    /// The wire name, e.g. `"StockConsumed"`.
    fn event_type(&self) -> &str;
    /// The payload's schema number as written today.
    fn schema(&self) -> u32;
    /// Writes the payload (the envelope's `data`).
    fn write_data(&self, w: &mut Writer);
    /// The schema the code writes today for `event_type`, if the type is known.
    fn schema_of(event_type: &str) -> Option<u32>;
    /// Reads a payload of `event_type` written with `schema`, upcasting older schemas first.
    fn decode(event_type: &str, schema: u32, data: &str) -> Result<Self, DecodeError>;

    /// The payload as JSON text.
    fn data_json(&self) -> String {
        let mut w = Writer::default();
        self.write_data(&mut w);
        w.finish()
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
    pub data: RawJson,
}

impl EventData for RawEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn schema(&self) -> u32 {
        self.schema
    }

    fn write_data(&self, w: &mut Writer) {
        self.data.write_json(w);
    }

    fn schema_of(_event_type: &str) -> Option<u32> {
        None
    }

    fn decode(event_type: &str, schema: u32, data: &str) -> Result<Self, DecodeError> {
        let data =
            RawJson::new(data).map_err(|err| DecodeError::new("invalid_event", err.to_string()))?;
        Ok(RawEvent { event_type: event_type.to_owned(), schema, data })
    }
}

/// Writes an event outside an envelope (e.g. in a view's row) as `{"type", "data"}`.
#[doc(hidden)]
pub fn write_event<E: EventData>(event: &E, w: &mut Writer) {
    crate::domain::write_tagged(event.event_type(), w, &mut |w| event.write_data(w));
}

/// Reads an event written by [`write_event`], at the schema the code writes today.
#[doc(hidden)]
pub fn read_event<E: EventData>(r: &mut Reader<'_>) -> Result<E, json::Error> {
    let (kind, data) = crate::domain::read_tagged(r)?;
    let schema = E::schema_of(&kind).unwrap_or(1);
    E::decode(&kind, schema, data).map_err(|e| r.error(&e.to_string()))
}

/// Why stored or submitted JSON could not be read as a known event or command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Stable snake_case code: `unknown_event_type`, `unknown_command_type`, `invalid_event`,
    /// `invalid_command`, `unsupported_schema`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

crate::json_struct!(DecodeError { code, message });
crate::serde_via_json!(DecodeError);

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

/// Upgrades the JSON text of an older schema to the current one, before decoding.
pub type Upcaster = fn(event_type: &str, schema: u32, data: &str) -> Result<String, DecodeError>;

/// An upcaster for domains that never changed a schema.
pub fn no_upcast(event_type: &str, schema: u32, _data: &str) -> Result<String, DecodeError> {
    Err(DecodeError::new("unsupported_schema", format!("{event_type} has no schema {schema}")))
}

/// Decodes one payload of a known type, upcasting it when it was written with an older schema.
#[doc(hidden)]
pub fn decode_payload<T: FromJson>(
    event_type: &str,
    schema: u32,
    current: u32,
    data: &str,
    upcast: Upcaster,
) -> Result<T, DecodeError> {
    let invalid = |err: json::Error| {
        DecodeError::new("invalid_event", format!("{event_type} (schema {schema}): {err}"))
    };
    if schema == current {
        return json::from_str(data).map_err(invalid);
    }
    json::from_str(&upcasted(event_type, schema, current, data, upcast)?).map_err(invalid)
}

/// The JSON of an older schema upgraded to the current one; an error for a newer schema.
fn upcasted(
    event_type: &str,
    schema: u32,
    current: u32,
    data: &str,
    upcast: Upcaster,
) -> Result<String, DecodeError> {
    if schema > current || schema == 0 {
        return Err(DecodeError::new(
            "unsupported_schema",
            format!("{event_type} schema {schema} is newer than this code's {current}"),
        ));
    }
    upcast(event_type, schema, data)
}

/// [`decode_payload`] with the reader of the payload given (a variant's named fields).
#[doc(hidden)]
pub fn decode_payload_with<T>(
    event_type: &str,
    schema: u32,
    current: u32,
    data: &str,
    upcast: Upcaster,
    read: &mut dyn FnMut(&mut Reader<'_>) -> Result<T, json::Error>,
) -> Result<T, DecodeError> {
    let invalid = |err: json::Error| {
        DecodeError::new("invalid_event", format!("{event_type} (schema {schema}): {err}"))
    };
    if schema == current {
        return json::from_str_with(data, read).map_err(invalid);
    }
    json::from_str_with(&upcasted(event_type, schema, current, data, upcast)?, read)
        .map_err(invalid)
}
