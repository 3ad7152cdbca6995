//! The event envelope: one recorded event with its stream, version, position and metadata.

use uuid::Uuid;

use crate::event::{EventData, RawEvent};
use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};

/// A stream's version: the number of events in it (0 for a stream with no events).
pub type Version = u64;

/// A place in the global log: the first event is 1; 0 means "before everything".
pub type Position = u64;

/// Who asked for an event, when, and through which command. Time comes in from outside.
///
/// The caller may attach a correlation id, a causation id and fields of its own; they are
/// kept in the meta of every event the command produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The id of the command that produced the event.
    pub command: Uuid,
    /// The subject that sent the command.
    pub actor: String,
    /// Milliseconds since the Unix epoch, given by the caller.
    pub at: i64,
    /// The id shared by every command of one conversation or workflow.
    pub correlation: Option<Uuid>,
    /// The id of the command or event that caused this command.
    pub causation: Option<Uuid>,
    /// The caller's own fields, kept as JSON.
    pub fields: Option<Fields>,
}

/// The fields a caller attaches to a command: one JSON object, kept as its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields(RawJson);

impl Fields {
    /// `object`, which must be a JSON object.
    pub fn new(object: RawJson) -> Result<Self, json::Error> {
        if object.get().trim_start().starts_with('{') {
            Ok(Fields(object))
        } else {
            Err(json::Error::custom("invalid type: fields are an object"))
        }
    }

    /// The value of field `name`, as JSON text.
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut found = None;
        let mut r = Reader::new(self.0.get());
        let _ = r.object(&mut |r, key| {
            let value = r.raw()?;
            if key == name {
                found = Some(value);
            }
            Ok(())
        });
        found
    }

    /// The whole object.
    pub fn json(&self) -> &RawJson {
        &self.0
    }
}

impl ToJson for Fields {
    fn write_json(&self, w: &mut Writer) {
        self.0.write_json(w);
    }
}

impl FromJson for Fields {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        Fields::new(RawJson::read_json(r)?).map_err(|e| r.error(e.message()))
    }
}

crate::json_struct!(Meta { command, actor, at, correlation, causation, fields });

impl Meta {
    /// The metadata of command `command`, sent by `actor` at `at` (milliseconds since the
    /// epoch), with nothing attached.
    pub fn new(command: Uuid, actor: impl Into<String>, at: i64) -> Self {
        Meta { command, actor: actor.into(), at, correlation: None, causation: None, fields: None }
    }
}
crate::serde_via_json!(Meta);

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
                data: RawJson::trusted(self.event.data_json()),
            },
            meta: self.meta.clone(),
        }
    }
}

impl Envelope<RawEvent> {
    /// Decodes the payload into a domain's event type, upcasting older schemas.
    pub fn decode<E: EventData>(&self) -> Result<Envelope<E>, crate::DecodeError> {
        Ok(Envelope {
            id: self.id,
            stream: self.stream.clone(),
            version: self.version,
            position: self.position,
            event: E::decode(&self.event.event_type, self.event.schema, self.event.data.get())?,
            meta: self.meta.clone(),
        })
    }
}

impl<E: EventData> ToJson for Envelope<E> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        w.field("id", &self.id);
        w.field("stream", &self.stream);
        w.field("version", &self.version);
        w.field("position", &self.position);
        w.field("type", self.event.event_type());
        w.field("schema", &self.event.schema());
        w.key("data");
        self.event.write_data(w);
        w.field("meta", &self.meta);
        w.end_object();
    }
}

impl<E: EventData> FromJson for Envelope<E> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        let (mut id, mut stream, mut version, mut position) = (None, None, None, None);
        let (mut event_type, mut schema, mut data, mut meta) = (None, None, None, None);
        json::read_fields(r, &mut |r, key| match key {
            "id" => json::read_slot(r, &mut id, key),
            "stream" => json::read_slot(r, &mut stream, key),
            "version" => json::read_slot(r, &mut version, key),
            "position" => json::read_slot(r, &mut position, key),
            "type" => json::read_slot::<String>(r, &mut event_type, key),
            "schema" => json::read_slot(r, &mut schema, key),
            "data" => {
                data = Some(r.raw()?);
                Ok(true)
            }
            "meta" => json::read_slot(r, &mut meta, key),
            _ => Ok(false),
        })?;
        let event_type = json::take_slot(event_type, "type")?;
        let schema = json::take_slot(schema, "schema")?;
        let data = data.ok_or_else(|| json::Error::missing("data"))?;
        let event = E::decode(&event_type, schema, data).map_err(|e| r.error(&e.to_string()))?;
        Ok(Envelope {
            id: json::take_slot(id, "id")?,
            stream: json::take_slot(stream, "stream")?,
            version: json::take_slot(version, "version")?,
            position: json::take_slot(position, "position")?,
            event,
            meta: json::take_slot(meta, "meta")?,
        })
    }
}

crate::serde_via_json!([E: EventData] Envelope<E>);

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
