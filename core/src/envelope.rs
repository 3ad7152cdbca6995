//! The event envelope: one recorded event with its stream, version, position and metadata.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::event::{EventData, Payload, RawEvent};

/// A stream's version: the number of events in it (0 for a stream with no events).
pub type Version = u64;

/// A place in the global log: the first event is 1; 0 means "before everything".
pub type Position = u64;

/// Who asked for an event, when, and through which command. Time comes in from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The id of the command that produced the event.
    pub command: Uuid,
    /// The subject that sent the command.
    pub actor: String,
    /// Milliseconds since the Unix epoch, given by the caller.
    pub at: i64,
}

/// One event as it travels and is stored.
///
/// On the wire: `{"id", "stream", "version", "position"?, "type", "schema", "data", "meta"}`.
/// `position` is absent on a client's optimistic events until the server assigns one.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<E = RawEvent> {
    /// The event's id, derived from its command id (see [`event_id`](crate::event_id)).
    pub id: Uuid,
    /// The stream, named `category-id`.
    pub stream: String,
    /// The stream's version after this event (the first event is 1).
    pub version: Version,
    /// The global position, assigned by the server.
    pub position: Option<Position>,
    /// The event itself.
    pub event: E,
    /// Who, when and why.
    pub meta: Meta,
}

impl<E: EventData> Envelope<E> {
    /// Converts to an envelope whose payload is plain JSON.
    pub fn to_raw(&self) -> Envelope<RawEvent> {
        Envelope {
            id: self.id,
            stream: self.stream.clone(),
            version: self.version,
            position: self.position,
            event: RawEvent {
                event_type: self.event.event_type().to_owned(),
                schema: self.event.schema(),
                data: self
                    .event
                    .encode_data(serde_json::value::Serializer)
                    .unwrap_or(serde_json::Value::Null),
            },
            meta: self.meta.clone(),
        }
    }
}

impl Envelope<RawEvent> {
    /// Decodes the payload into a domain's event type, upcasting older schemas.
    pub fn decode<E: EventData>(&self) -> Result<Envelope<E>, crate::DecodeError> {
        let data = serde_json::value::to_raw_value(&self.event.data)
            .map_err(|err| crate::DecodeError::new("invalid_event", err.to_string()))?;
        Ok(Envelope {
            id: self.id,
            stream: self.stream.clone(),
            version: self.version,
            position: self.position,
            event: E::decode(&self.event.event_type, self.event.schema, &data)?,
            meta: self.meta.clone(),
        })
    }
}

impl<E: EventData> Serialize for Envelope<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = if self.position.is_some() { 8 } else { 7 };
        let mut s = serializer.serialize_struct("Envelope", fields)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("stream", &self.stream)?;
        s.serialize_field("version", &self.version)?;
        match self.position {
            Some(position) => s.serialize_field("position", &position)?,
            None => s.skip_field("position")?,
        }
        s.serialize_field("type", self.event.event_type())?;
        s.serialize_field("schema", &self.event.schema())?;
        s.serialize_field("data", &Payload(&self.event))?;
        s.serialize_field("meta", &self.meta)?;
        s.end()
    }
}

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    id: Uuid,
    stream: String,
    version: Version,
    #[serde(default)]
    position: Option<Position>,
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    schema: u32,
    data: Box<RawValue>,
    meta: Meta,
}

impl<'de, E: EventData> Deserialize<'de> for Envelope<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireEnvelope::deserialize(deserializer)?;
        let event =
            E::decode(&wire.event_type, wire.schema, &wire.data).map_err(de::Error::custom)?;
        Ok(Envelope {
            id: wire.id,
            stream: wire.stream,
            version: wire.version,
            position: wire.position,
            event,
            meta: wire.meta,
        })
    }
}

/// The name of the stream of entity `id` in `category`: `item-<uuid>`.
pub fn stream_name(category: &str, id: &Uuid) -> String {
    format!("{category}-{id}")
}

/// The category of a stream: the part before the first dash.
pub fn category_of(stream: &str) -> &str {
    stream.split_once('-').map_or(stream, |(category, _)| category)
}

/// The entity id of a stream: the part after the first dash.
pub fn id_of(stream: &str) -> &str {
    stream.split_once('-').map_or("", |(_, id)| id)
}

/// The id of the `index`th event of a command: UUIDv5 of the command id and the index, so a
/// client's optimistic events and the server's recorded ones carry the same ids.
pub fn event_id(command: &Uuid, index: usize) -> Uuid {
    Uuid::new_v5(command, &(index as u64).to_be_bytes())
}
