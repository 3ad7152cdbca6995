//! `GET /v1/openapi.json` (and `annals-server openapi`): the API described as OpenAPI 3.1,
//! made from what the handlers check, not kept beside them: the bounds and naming rules are
//! the constants the handlers use, and the hosted domain's commands, events, state, view rows
//! and rejection codes are JSON Schemas generated from its Rust types by the same impls that
//! give its package's TypeScript types (`annals_core::typescript`).

use annals_core::protocol::MAX_BATCH;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::AppState;
use super::events::{DEFAULT_PAGE, MAX_PAGE};
use super::streams::MAX_STREAM_NAME;
use super::views::DEFAULT_ROWS;
use crate::auth::{Caller, Scope};
use crate::hosted::Hosted;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(served))
}

async fn served(State(state): State<AppState>, caller: Caller) -> Response {
    match caller.require(Scope::Read) {
        Ok(()) => {
            let mut response = axum::Json(document(&*state.domain)).into_response();
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-cache"),
            );
            response
        }
        Err(err) => err.into_response(),
    }
}

/// The names of the document's own schemas, which no domain type may take.
const OWN_SCHEMAS: [&str; 15] = [
    "Error",
    "Envelope",
    "PushCommand",
    "PushRequest",
    "PushResponse",
    "CommandResult",
    "NewEvent",
    "AppendRequest",
    "AppendResponse",
    "EventPage",
    "StreamPage",
    "StreamStateResponse",
    "ParkedEvent",
    "Reaction",
    "ReactionList",
];

/// A `$ref` to a schema of the document.
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// JSON Schema of a string without control characters (which PostgreSQL text cannot always
/// hold), of 1 to `max` characters, starting with `prefix`.
fn name_schema(prefix: &str, max: usize) -> Value {
    let mut pattern = String::from("^");
    for c in prefix.chars() {
        if r"\^$.|?*+()[]{}/".contains(c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(r"[^\u0000-\u001f\u007f-\u009f]+$");
    json!({ "type": "string", "minLength": prefix.chars().count() + 1, "maxLength": max, "pattern": pattern })
}

fn uint(min: u64, max: u64) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": max })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": r("Error") } } })
}

fn ok(schema: Value) -> Value {
    json!({ "description": "OK", "content": { "application/json": { "schema": schema } } })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn path(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

/// The answers every endpoint that needs a token and reads or writes the database may give,
/// besides its own.
fn responses(scope: &str, own: Value) -> Value {
    let mut all = json!({
        "401": error("unauthorized: no valid token"),
        "403": error(&format!("forbidden: the token lacks the {scope} scope; forbidden_origin: a browser page of an origin not allowed")),
        "421": error("forbidden_host: a Host this server does not answer to"),
        "503": error("database_unavailable, database_full, database_read_only or database_locked: the database cannot serve the request now; Retry-After says when to try again"),
    });
    if let (Some(all), Value::Object(own)) = (all.as_object_mut(), own) {
        all.extend(own);
    }
    all
}

/// The answers of an endpoint that reads a JSON body and writes.
fn body_errors(too_large: &str) -> Value {
    json!({
        "500": error("internal_error: the domain's code failed on this request (it panicked); nothing of it was recorded"),
        "400": error("invalid_body, invalid_command, unknown_command_type, invalid_event, unknown_event_type, invalid_stream: the body is not what this operation takes"),
        "413": error(too_large),
        "415": error("unsupported_media_type: the body is not sent as application/json"),
    })
}

/// The OpenAPI document of a server hosting `domain`.
pub fn document(domain: &dyn Hosted) -> Value {
    let types = domain.schemas(&OWN_SCHEMAS);
    let mut schemas = Map::new();
    for (name, schema) in types.components {
        schemas.insert(name, schema);
    }
    let stream = name_schema("", MAX_STREAM_NAME);
    let own_stream = name_schema(&format!("{}-", domain.category()), MAX_STREAM_NAME);
    let position = uint(1, u64::MAX);
    let version = uint(1, u64::MAX);
    let id = json!({ "type": "string", "format": "uuid" });
    let codes = json!({ "anyOf": [types.codes, { "const": "wrong_expected_version" }] });
    let own = json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": {
            "type": "object", "required": ["code", "message"],
            "description": "Some errors carry more fields (wrong_expected_version: expected and actual; readiness: checks).",
            "properties": { "code": { "type": "string", "description": "A stable snake_case code." }, "message": { "type": "string", "description": "A sentence for people." } } } } },
        "Envelope": { "description": "A recorded event: one of the domain's events with its place in the log.", "allOf": [types.event, {
            "type": "object", "required": ["id", "stream", "version", "position", "schema", "meta"], "properties": {
                "id": id, "stream": stream, "version": version, "position": position,
                "schema": uint(1, u32::MAX.into()), "meta": types.meta } }] },
        "PushCommand": { "description": "One of the domain's commands, with the id the client gave it (a retry reuses it).", "allOf": [types.command, {
            "type": "object", "required": ["id"], "properties": {
                "id": id,
                "expected": nullable(json!({ "type": "object", "description": "Refuse the command (wrong_expected_version) unless each named stream is at this version.", "additionalProperties": uint(0, u64::MAX) })),
                "meta": nullable(json!({ "type": "object", "description": "What the caller attaches, kept in the meta of the command's events.", "properties": {
                    "correlation": nullable(id.clone()), "causation": nullable(id.clone()), "fields": nullable(json!({ "type": "object" })) } })) } }] },
        "PushRequest": { "type": "object", "required": ["commands"], "properties": {
            "commands": { "type": "array", "maxItems": MAX_BATCH, "items": r("PushCommand"), "description": "Decided in order." } } },
        "CommandResult": { "anyOf": [
            { "type": "object", "required": ["status", "id", "events"], "properties": {
                "status": { "const": "accepted" }, "id": id, "events": { "type": "array", "items": r("Envelope") } } },
            { "type": "object", "required": ["status", "id", "code", "message"], "properties": {
                "status": { "const": "rejected" }, "id": id, "code": codes, "message": { "type": "string" } } }] },
        "PushResponse": { "type": "object", "required": ["results", "head"], "properties": {
            "results": { "type": "array", "items": r("CommandResult") }, "head": uint(0, u64::MAX) } },
        "NewEvent": new_event(domain, &types.event, &schemas, &types.meta),
        "AppendRequest": { "type": "object", "required": ["expected_version", "events"], "properties": {
            "expected_version": { "description": "What the stream must hold: exactly this version, any, none (no_stream) or some (exists).",
                "anyOf": [uint(0, u64::MAX), { "enum": ["any", "no_stream", "exists"] }] },
            "events": { "type": "array", "minItems": 1, "items": r("NewEvent") } } },
        "AppendResponse": { "type": "object", "required": ["first_version", "last_version", "positions"], "properties": {
            "first_version": version, "last_version": version, "positions": { "type": "array", "items": position } } },
        "EventPage": { "type": "object", "required": ["events", "head"], "properties": {
            "events": { "type": "array", "items": r("Envelope") }, "head": uint(0, u64::MAX) } },
        "StreamPage": { "type": "object", "required": ["stream", "version", "events"], "properties": {
            "stream": stream, "version": uint(0, u64::MAX), "events": { "type": "array", "items": r("Envelope") } } },
        "StreamStateResponse": { "type": "object", "required": ["stream", "version", "state"], "properties": {
            "stream": stream, "version": uint(0, u64::MAX), "state": types.state } },
        "ParkedEvent": { "type": "object", "description": "An event a reaction gave up on after its tries.", "required": ["position", "type", "tries", "error", "at", "retry"], "properties": {
            "position": position, "type": { "type": "string" }, "tries": uint(0, u32::MAX.into()), "error": { "type": "string", "description": "The last failure." },
            "at": { "type": "integer", "description": "When it was parked or last tried, milliseconds since the epoch." }, "retry": { "type": "boolean", "description": "Whether a retry was asked for and has not run yet." } } },
        "Reaction": { "type": "object", "required": ["name", "position", "lag", "failures", "error", "hosted", "running", "parked"], "properties": {
            "name": { "type": "string" }, "position": uint(0, u64::MAX), "lag": uint(0, u64::MAX),
            "failures": uint(0, u32::MAX.into()), "error": { "type": ["string", "null"], "description": "The last failure of the event after position." },
            "hosted": { "type": "boolean", "description": "Whether this node was started with the reaction." },
            "running": { "type": "boolean", "description": "Whether this node runs it now (on PostgreSQL, one node at a time does)." },
            "parked": { "type": "array", "items": r("ParkedEvent") } } },
        "ReactionList": { "type": "object", "required": ["head", "reactions"], "properties": {
            "head": uint(0, u64::MAX), "reactions": { "type": "array", "items": r("Reaction") } } },
    });
    if let Value::Object(own) = own {
        schemas.extend(own);
    }

    let limit = |default: u32| {
        query("limit", &format!("At most this many (default {default})"), uint(1, MAX_PAGE.into()))
    };
    let mut paths = json!({
        "/v1/commands": { "post": {
            "operationId": "push",
            "summary": format!("Push at most {MAX_BATCH} commands; each is decided by the domain's rules in order. A command id sent again gets its first result."),
            "requestBody": body(r("PushRequest")),
            "responses": responses("write", merged(json!({ "200": ok(r("PushResponse")) }), body_errors(&format!("too_large: more than {MAX_BATCH} commands, or a body over the server's --max-body")))) } },
        "/v1/events": { "get": {
            "operationId": "pull",
            "summary": "The log after a position.",
            "parameters": [query("after", "The position to read after (default 0)", uint(0, u64::MAX)), limit(DEFAULT_PAGE)],
            "responses": responses("read", json!({ "200": ok(r("EventPage")), "400": error("invalid_parameter") })) } },
        "/v1/subscribe": { "get": {
            "operationId": "subscribe",
            "summary": "The live log as Server-Sent Events, each event's id its position; resumes after Last-Event-ID.",
            "parameters": [query("after", "The position to start after (default 0)", uint(0, u64::MAX))],
            "responses": responses("read", json!({
                "200": { "description": "Server-Sent Events, each an envelope: its id the position, its data the envelope's JSON (comments keep the connection alive)", "content": { "text/event-stream": { "schema": {
                    "type": "object", "required": ["data"], "properties": {
                        "id": { "type": "string", "pattern": "^[0-9]+$" }, "event": { "enum": ["message"] }, "data": { "type": "string", "contentMediaType": "application/json" } } } } } },
                "400": error("invalid_parameter"),
                "429": error("too_many_subscriptions") })) } },
        "/v1/streams/{stream}": { "get": {
            "operationId": "stream",
            "summary": "One stream's events.",
            "parameters": [path("stream", "The stream's name", stream.clone()), query("from", "The first version (default 1)", uint(0, u64::MAX)), limit(DEFAULT_PAGE)],
            "responses": responses("read", json!({ "200": ok(r("StreamPage")), "400": error("invalid_parameter"), "404": error("stream_not_found") })) } },
        "/v1/streams/{stream}/state": { "get": {
            "operationId": "streamState",
            "summary": "A stream's decided state, now or at a version.",
            "parameters": [path("stream", "The stream's name", stream.clone()), query("at", "The version to fold up to (at most the stream's)", uint(0, u64::MAX))],
            "responses": responses("read", json!({ "200": ok(r("StreamStateResponse")), "400": error("invalid_parameter"), "404": error("stream_not_found; version_not_found: at is past the stream's version") })) } },
        "/v1/streams/{stream}/events": { "post": {
            "operationId": "append",
            "summary": "Append events as they are (admin scope): each must be one of the domain's events. Event ids sent again get their first positions.",
            "parameters": [path("stream", "The stream's name, of the domain's category", own_stream)],
            "requestBody": body(r("AppendRequest")),
            "responses": responses("admin", merged(json!({ "200": ok(r("AppendResponse")), "409": error("wrong_expected_version, with expected and actual") }), body_errors("too_large: a body over the server's --max-body"))) } },
        "/v1/reactions": { "get": {
            "operationId": "reactions",
            "summary": "Each reaction's place in the caller's tenant: position, lag, failures and parked events (admin scope).",
            "responses": responses("admin", json!({ "200": ok(r("ReactionList")) })) } },
        "/v1/reactions/{name}/parked/{position}/retry": { "post": {
            "operationId": "retryParked",
            "summary": "Try a parked event again: the node running the reaction delivers it on its next round, and it leaves the parked events once handled (admin scope).",
            "parameters": [path("name", "The reaction", json!({ "type": "string" })), path("position", "The parked event's position", uint(0, u64::MAX))],
            "responses": responses("admin", json!({
                "202": { "description": "Asked for", "content": { "application/json": { "schema": r("ParkedEvent") } } },
                "400": error("invalid_path"), "404": error("parked_event_not_found") })) } },
        "/v1/reactions/{name}/parked/{position}/skip": { "post": {
            "operationId": "skipParked",
            "summary": "Give up on a parked event: it is never delivered again (admin scope).",
            "parameters": [path("name", "The reaction", json!({ "type": "string" })), path("position", "The parked event's position", uint(0, u64::MAX))],
            "responses": responses("admin", json!({
                "200": ok(json!({ "type": "object", "required": ["skipped"], "properties": { "skipped": r("ParkedEvent") } })),
                "400": error("invalid_path"), "404": error("parked_event_not_found") })) } },
        "/healthz": { "get": { "operationId": "health", "summary": "Liveness, as /healthz/live (its older name); no token needed.", "security": [],
            "responses": { "200": { "description": "The process serves HTTP", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        "/healthz/live": { "get": { "operationId": "live", "summary": "Liveness: the process serves HTTP. It reads nothing, so it stays up while the database is away; no token needed.", "security": [],
            "responses": { "200": { "description": "The process serves HTTP", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        "/healthz/ready": { "get": { "operationId": "ready", "summary": "Readiness: a read of the database answers, the writer can write and PostgreSQL's listener listens; no token needed.", "security": [],
            "responses": { "200": { "description": "Ready", "content": { "application/json": { "schema": { "type": "object" } } } }, "503": error("Not ready: the code of the first failing check, and checks naming each (read, writer, listener); Retry-After") } } },
        "/metrics": { "get": { "operationId": "metrics", "summary": "Prometheus text, counted over every tenant (admin scope).",
            "responses": responses("admin", json!({ "200": { "description": "Prometheus text", "content": { "text/plain": { "schema": { "type": "string" } } } } })) } },
        "/v1/openapi.json": { "get": { "operationId": "openapi", "summary": "This document.",
            "responses": responses("read", json!({ "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } })) } },
    });
    if let Some(paths) = paths.as_object_mut() {
        for (name, single, all, row) in types.views {
            paths.insert(format!("/v1/views/{name}"), view(name, single, all));
            if !single {
                paths.insert(format!("/v1/views/{name}/{{key}}"), view_row(name, row));
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("annals: {}", domain.name()),
            "version": "1",
            "description": format!("The HTTP API of annals-server hosting the domain {}: commands decided by the domain's rules, a gap-free log, read models. Made from the server's code and the domain's Rust types.", domain.name()),
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": schemas,
        },
        "security": [{ "bearer": [] }],
        "paths": paths,
    })
}

/// `schema` or `null`: what an `Option` field takes (absent and `null` are both `None`).
fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

/// `a` with `b`'s members added.
fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// `GET /v1/views/{name}`.
fn view(name: &str, single: bool, all: Value) -> Value {
    let (summary, parameters) = if single {
        (format!("The read model {name}: one value (null before it has one)."), json!([]))
    } else {
        let after = json!({ "type": "string", "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$" });
        (
            format!(
                "The read model {name}: a page of its rows by key, in key order; next is the key to read the following page after (null on the last)."
            ),
            json!([
                query(
                    "after",
                    "The key after which the page starts (the previous page's next)",
                    after
                ),
                query(
                    "limit",
                    &format!("At most this many rows (default {DEFAULT_ROWS})"),
                    uint(1, MAX_PAGE.into())
                ),
            ]),
        )
    };
    let page = json!({ "type": "object", "required": ["position", "value", "next"], "properties": {
        "position": uint(0, u64::MAX), "value": all, "next": { "type": ["string", "null"] } } });
    json!({ "get": {
        "operationId": format!("view_{name}"),
        "summary": summary,
        "parameters": parameters,
        "responses": responses("read", json!({ "200": ok(page), "400": error("invalid_parameter") })) } })
}

/// `GET /v1/views/{name}/{key}`.
fn view_row(name: &str, row: Value) -> Value {
    let value = json!({ "type": "object", "required": ["position", "value"], "properties": {
        "position": uint(0, u64::MAX), "value": row } });
    json!({ "get": {
        "operationId": format!("view_{name}_row"),
        "summary": format!("One row of the read model {name}, by its key (the entity's id)."),
        "parameters": [path("key", "The row's key", json!({ "type": "string" }))],
        "responses": responses("read", json!({ "200": ok(value), "404": error("row_not_found") })) } })
}

/// A raw event: one of the domain's events (each `{type, data}` with its current `schema`
/// when given), with an id and optionally a meta.
fn new_event(
    domain: &dyn Hosted,
    event: &Value,
    schemas: &Map<String, Value>,
    meta: &Value,
) -> Value {
    let union = event["$ref"]
        .as_str()
        .and_then(|target| target.rsplit('/').next())
        .and_then(|name| schemas.get(name))
        .unwrap_or(event);
    let members = union["anyOf"].as_array().cloned().unwrap_or_else(|| vec![union.clone()]);
    let members: Vec<Value> = members
        .into_iter()
        .map(|mut member| {
            let current = member["properties"]["type"]["const"]
                .as_str()
                .and_then(|kind| domain.event_schema(kind));
            if let (Some(current), Some(properties)) =
                (current, member["properties"].as_object_mut())
            {
                properties.insert("schema".into(), nullable(json!({ "const": current })));
            }
            member
        })
        .collect();
    json!({ "description": "One of the domain's events as it is appended: its schema, when given, is the type's current one.", "allOf": [
        { "anyOf": members },
        { "type": "object", "required": ["id"], "properties": {
            "id": { "type": "string", "format": "uuid" }, "meta": nullable(meta.clone()) } }] })
}
