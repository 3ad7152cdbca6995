//! The wire messages of the HTTP API, shared by the server and the package so the two can
//! never disagree on their shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::envelope::{Envelope, Fields, Meta, Position, Version};
use crate::event::{EventData, RawEvent};
use crate::json::{self, FromJson, RawJson, Reader, ToJson, Writer};

/// Most commands one push may carry.
pub const MAX_BATCH: usize = 1000;

/// One command as a client sends it: `{id, type, data, expected?, meta?}`.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandRequest {
    /// The command's id, made by the client; retries reuse it.
    pub id: Uuid,
    /// The command type, e.g. `"ConsumeStock"`.
    pub command_type: String,
    /// The command's payload, kept as JSON text until the domain decodes it.
    pub data: RawJson,
    /// Refuse the command if any of these streams moved past the given version.
    pub expected: Option<BTreeMap<String, Version>>,
    /// What the caller attaches to the command, kept in the meta of its events.
    pub meta: Option<Attached>,
}

crate::json_struct!(CommandRequest { id, command_type as "type", data, expected, meta });
crate::serde_via_json!(CommandRequest);

/// What a caller may attach to a command: `{correlation?, causation?, fields?}`. The
/// command's id, actor and time are not among them: the server sets those.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attached {
    /// See [`Meta::correlation`].
    pub correlation: Option<Uuid>,
    /// See [`Meta::causation`].
    pub causation: Option<Uuid>,
    /// See [`Meta::fields`].
    pub fields: Option<Fields>,
}

crate::json_struct!(Attached { correlation, causation, fields });

impl Attached {
    /// What `meta` carries besides its command, actor and time; `None` when nothing.
    pub fn of(meta: &Meta) -> Option<Attached> {
        let attached = Attached {
            correlation: meta.correlation,
            causation: meta.causation,
            fields: meta.fields.clone(),
        };
        (attached != Attached::default()).then_some(attached)
    }

    /// The meta of command `command`, sent by `actor` at `at`, carrying what is attached.
    pub fn onto(attached: Option<&Attached>, command: Uuid, actor: &str, at: i64) -> Meta {
        let mut meta = Meta::new(command, actor, at);
        if let Some(attached) = attached {
            meta.correlation = attached.correlation;
            meta.causation = attached.causation;
            meta.fields.clone_from(&attached.fields);
        }
        meta
    }
}

/// `POST /v1/commands` body.
#[derive(Clone, Debug, PartialEq)]
pub struct PushRequest {
    /// At most [`MAX_BATCH`] commands, decided in order.
    pub commands: Vec<CommandRequest>,
}

crate::json_struct!(PushRequest { commands });
crate::serde_via_json!(PushRequest);

/// What became of one command.
///
/// On the wire: `{"status": "accepted", "id", "events"}` or
/// `{"status": "rejected", "id", "code", "message"}`.
#[derive(Clone, Debug, PartialEq)]
pub enum CommandResult<E = RawEvent> {
    /// The command was decided and its events recorded.
    Accepted {
        /// The command's id.
        id: Uuid,
        /// The recorded events, with positions.
        events: Vec<Envelope<E>>,
    },
    /// The command was refused; nothing was recorded.
    Rejected {
        /// The command's id.
        id: Uuid,
        /// Stable snake_case reason.
        code: String,
        /// A sentence for people.
        message: String,
    },
}

impl<E> CommandResult<E> {
    /// The command's id.
    pub fn id(&self) -> Uuid {
        match self {
            CommandResult::Accepted { id, .. } | CommandResult::Rejected { id, .. } => *id,
        }
    }
}

impl<E: EventData> ToJson for CommandResult<E> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        match self {
            CommandResult::Accepted { id, events } => {
                w.field("status", "accepted");
                w.field("id", id);
                w.field("events", events);
            }
            CommandResult::Rejected { id, code, message } => {
                w.field("status", "rejected");
                w.field("id", id);
                w.field("code", code);
                w.field("message", message);
            }
        }
        w.end_object();
    }
}

impl<E: EventData> FromJson for CommandResult<E> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        let (mut status, mut id, mut events) = (None::<String>, None, None);
        let (mut code, mut message) = (None, None);
        json::read_fields(r, &mut |r, key| match key {
            "status" => json::read_slot(r, &mut status, key),
            "id" => json::read_slot(r, &mut id, key),
            "events" => json::read_slot(r, &mut events, key),
            "code" => json::read_slot(r, &mut code, key),
            "message" => json::read_slot(r, &mut message, key),
            _ => Ok(false),
        })?;
        let id = json::take_slot(id, "id")?;
        match json::take_slot(status, "status")?.as_str() {
            "accepted" => {
                Ok(CommandResult::Accepted { id, events: json::take_slot(events, "events")? })
            }
            "rejected" => Ok(CommandResult::Rejected {
                id,
                code: json::take_slot(code, "code")?,
                message: json::take_slot(message, "message")?,
            }),
            other => Err(json::Error::custom(format!(
                "unknown variant `{other}`, expected `accepted` or `rejected`"
            ))),
        }
    }
}

/// `POST /v1/commands` response.
#[derive(Clone, Debug, PartialEq)]
pub struct PushResponse<E = RawEvent> {
    /// One result per command, in the request's order.
    pub results: Vec<CommandResult<E>>,
    /// The log's last position after the push.
    pub head: Position,
}

/// `GET /v1/events?after=P&limit=N` response.
#[derive(Clone, Debug, PartialEq)]
pub struct PullResponse<E = RawEvent> {
    /// Events after the requested position, in position order.
    pub events: Vec<Envelope<E>>,
    /// The log's last position.
    pub head: Position,
}

/// `GET /v1/streams/{stream}` response.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamResponse<E = RawEvent> {
    /// The stream's name.
    pub stream: String,
    /// The stream's current version.
    pub version: Version,
    /// The requested events, in version order.
    pub events: Vec<Envelope<E>>,
}

crate::serde_via_json!([E: EventData] CommandResult<E>);
crate::json_struct!([E: EventData] PushResponse<E> { results, head });
crate::serde_via_json!([E: EventData] PushResponse<E>);
crate::json_struct!([E: EventData] PullResponse<E> { events, head });
crate::serde_via_json!([E: EventData] PullResponse<E>);
crate::json_struct!([E: EventData] StreamResponse<E> { stream, version, events });
crate::serde_via_json!([E: EventData] StreamResponse<E>);

/// `GET /v1/streams/{stream}/state` response.
#[derive(Clone, Debug, PartialEq)]
pub struct StateResponse {
    /// The stream's name.
    pub stream: String,
    /// The version the state reflects.
    pub version: Version,
    /// The decided state, as JSON text.
    pub state: RawJson,
}

crate::json_struct!(StateResponse { stream, version, state });
crate::serde_via_json!(StateResponse);

/// What a raw append expects of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have at least one event.
    Exists,
    /// The stream must be at exactly this version.
    Exact(Version),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` satisfies this expectation.
    pub fn admits(self, actual: Version) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exists => actual > 0,
            ExpectedVersion::Exact(version) => actual == version,
        }
    }
}

impl ToJson for ExpectedVersion {
    fn write_json(&self, w: &mut Writer) {
        match self {
            ExpectedVersion::Any => w.string("any"),
            ExpectedVersion::NoStream => w.string("no_stream"),
            ExpectedVersion::Exists => w.string("exists"),
            ExpectedVersion::Exact(version) => w.unsigned(*version),
        }
    }
}

impl FromJson for ExpectedVersion {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        if !r.at_string() {
            return r.unsigned().map(ExpectedVersion::Exact);
        }
        match r.text_value()?.as_ref() {
            "any" => Ok(ExpectedVersion::Any),
            "no_stream" => Ok(ExpectedVersion::NoStream),
            "exists" => Ok(ExpectedVersion::Exists),
            other => Err(r.error(&format!(
                "expected_version must be a number, \"any\", \"no_stream\" or \"exists\", not {other:?}"
            ))),
        }
    }
}

crate::serde_via_json!(ExpectedVersion);

/// One event in a raw append: `{id, type, data, schema?, meta?}`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// The event's id, made by the caller; a retry reuses it.
    pub id: Uuid,
    /// The event type, which must be known to the server.
    pub event_type: String,
    /// The payload's schema; the current one when absent.
    pub schema: Option<u32>,
    /// The payload.
    pub data: RawJson,
    /// Metadata; the server fills it in when absent.
    pub meta: Option<Meta>,
}

crate::json_struct!(NewEvent { id, event_type as "type", schema, data, meta });
crate::serde_via_json!(NewEvent);

/// `POST /v1/streams/{stream}/events` body.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendRequest {
    /// What the stream must look like for the append to go through.
    pub expected_version: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
}

crate::json_struct!(AppendRequest { expected_version, events });
crate::serde_via_json!(AppendRequest);

/// `POST /v1/streams/{stream}/events` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppendResponse {
    /// The stream version of the first appended event.
    pub first_version: Version,
    /// The stream version of the last appended event.
    pub last_version: Version,
    /// The global positions of the appended events.
    pub positions: Vec<Position>,
}

/// `GET /v1/views/{name}` and `/v1/views/{name}/{key}` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewResponse {
    /// The global position the value reflects.
    pub position: Position,
    /// The view or the row.
    pub value: Value,
}

/// The body of every error response: `{"error": {"code", "message", ...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// An error's stable code, human message and any details (e.g. `expected`, `actual`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable snake_case code.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Further fields, such as `expected` and `actual` for `wrong_expected_version`.
    #[serde(flatten)]
    pub details: BTreeMap<String, Value>,
}
