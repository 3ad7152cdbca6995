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
    let mut name = String::with_capacity(category.len() + 37);
    name.push_str(category);
    name.push('-');
    name.push_str(&json::uuid_text(id));
    name
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
    // RFC 9562's UUIDv5: the SHA-1 of the namespace's 16 bytes and the name's 8, one block
    // with its padding (a 1 bit, zeros, and the message's length in bits).
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(command.as_bytes());
    block[16..24].copy_from_slice(&(index as u64).to_be_bytes());
    block[24] = 0x80;
    block[63] = 24 * 8;
    let digest = sha1_block(&block);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// SHA-1 (RFC 3174) of one padded 64-byte block: all `event_id` needs, in a fraction of the
/// code a general SHA-1 takes in the WebAssembly module.
fn sha1_block(block: &[u8; 64]) -> [u8; 20] {
    let mut w = [0u32; 80];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let start = [0x6745_2301_u32, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let [mut a, mut b, mut c, mut d, mut e] = start;
    for (i, word) in w.iter().enumerate() {
        let (f, k) = match i / 20 {
            0 => ((b & c) | (!b & d), 0x5A82_7999),
            1 => (b ^ c ^ d, 0x6ED9_EBA1),
            2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let t =
            a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*word);
        (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
    }
    let mut digest = [0u8; 20];
    for ((out, start), end) in digest.chunks_exact_mut(4).zip(start).zip([a, b, c, d, e]) {
        out.copy_from_slice(&start.wrapping_add(end).to_be_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_the_uuid_v5_of_the_command_and_the_index() {
        let command = Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
        for (index, id) in [
            (0, "ebf008bf-8808-56eb-9270-8e6c56fd3b00"),
            (1, "7e408611-8015-5fc1-bd97-3babfe78107b"),
            (300, "b56050ef-baa1-528a-9f99-7d14ff5356db"),
        ] {
            assert_eq!(json::uuid_text(&event_id(&command, index)), id);
        }
        for n in 0..200_u128 {
            let command =
                Uuid::from_u128(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
            for index in [0, 1, 2, 7, 255, 256, 65_536, usize::MAX] {
                let name = (index as u64).to_be_bytes();
                assert_eq!(event_id(&command, index), Uuid::new_v5(&command, &name));
            }
        }
    }

    #[test]
    fn a_stream_is_named_by_its_category_and_id() {
        let id = Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
        let name = stream_name("item", &id);
        assert_eq!(name, "item-67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!((category_of(&name), id_of(&name)), ("item", &name[5..]));
    }
}
