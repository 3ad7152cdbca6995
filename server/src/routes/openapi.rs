//! `GET /v1/openapi.json`: the API described as OpenAPI 3.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::auth::{Caller, Scope};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/openapi.json",
        get(|caller: Caller| async move { caller.require(Scope::Read).map(|()| Json(document())) }),
    )
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// The 503 of every endpoint that reads or writes the database.
fn unavailable() -> Value {
    error(
        "The database cannot serve the request now (database_unavailable, database_full, \
         database_read_only, database_locked or unavailable); Retry-After says when to try again",
    )
}

fn ok(schema: Value) -> Value {
    json!({ "description": "OK", "content": { "application/json": { "schema": schema } } })
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "integer", "minimum": 0 } })
}

fn path(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

/// The OpenAPI document.
pub fn document() -> Value {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    json!({
        "openapi": "3.0.3",
        "info": { "title": "annals", "version": "1", "description": "Event-sourcing projection engine: commands decided by shared rules, a gap-free log, live read models." },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } },
                "Meta": { "type": "object", "required": ["command", "actor", "at"], "properties": { "command": { "type": "string", "format": "uuid" }, "actor": { "type": "string" }, "at": { "type": "integer" } } },
                "Envelope": { "type": "object", "required": ["id", "stream", "version", "type", "schema", "data", "meta"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "stream": { "type": "string" }, "version": { "type": "integer" },
                    "position": { "type": "integer" }, "type": { "type": "string" }, "schema": { "type": "integer" },
                    "data": { "type": "object" }, "meta": r("Meta") } },
                "Command": { "type": "object", "required": ["id", "type", "data"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "type": { "type": "string" }, "data": { "type": "object" },
                    "expected": { "type": "object", "additionalProperties": { "type": "integer" } } } },
                "CommandResult": { "type": "object", "required": ["id", "status"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "status": { "type": "string", "enum": ["accepted", "rejected"] },
                    "events": { "type": "array", "items": r("Envelope") }, "code": { "type": "string" }, "message": { "type": "string" } } },
                "NewEvent": { "type": "object", "required": ["id", "type", "data"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "type": { "type": "string" }, "schema": { "type": "integer" },
                    "data": { "type": "object" }, "meta": r("Meta") } }
            }
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/v1/commands": { "post": {
                "summary": "Push a batch of at most 1000 commands; each is decided by the domain's rules. Retrying a command id returns its first result.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["commands"], "properties": { "commands": { "type": "array", "maxItems": 1000, "items": r("Command") } } } } } },
                "responses": { "200": ok(json!({ "type": "object", "properties": { "results": { "type": "array", "items": r("CommandResult") }, "head": { "type": "integer" } } })),
                    "400": error("Bad body or unknown command type"), "401": error("No valid token"), "403": error("Missing write scope, or forbidden_origin"), "413": error("Body or batch too large"), "415": error("unsupported_media_type: the body is not sent as application/json"), "421": error("forbidden_host: a Host this server does not answer to"), "503": unavailable() } } },
            "/v1/events": { "get": {
                "summary": "The tenant's global log after a position.",
                "parameters": [query("after", "Position to read after (default 0)"), query("limit", "At most this many events (1-10000, default 1000)")],
                "responses": { "200": ok(json!({ "type": "object", "properties": { "events": { "type": "array", "items": r("Envelope") }, "head": { "type": "integer" } } })),
                    "400": error("Bad parameter"), "401": error("No valid token"), "403": error("Missing read scope"), "503": unavailable() } } },
            "/v1/subscribe": { "get": {
                "summary": "The live log as Server-Sent Events; id is the position; resumes from Last-Event-ID.",
                "parameters": [query("after", "Position to start after (default 0)")],
                "responses": { "200": { "description": "text/event-stream of envelopes", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
                    "401": error("No valid token"), "403": error("Missing read scope"), "429": error("Too many subscriptions") } } },
            "/v1/streams/{stream}": { "get": {
                "summary": "One stream's events.",
                "parameters": [path("stream"), query("from", "First version (default 1)"), query("limit", "At most this many events")],
                "responses": { "200": ok(json!({ "type": "object", "properties": { "stream": { "type": "string" }, "version": { "type": "integer" }, "events": { "type": "array", "items": r("Envelope") } } })),
                    "400": error("Bad parameter"), "401": error("No valid token"), "403": error("Missing read scope"), "404": error("stream_not_found"), "503": unavailable() } } },
            "/v1/streams/{stream}/state": { "get": {
                "summary": "A stream's decided state, now or at a version.",
                "parameters": [path("stream"), query("at", "The version to fold up to")],
                "responses": { "200": ok(json!({ "type": "object", "properties": { "stream": { "type": "string" }, "version": { "type": "integer" }, "state": {} } })),
                    "400": error("Bad parameter"), "401": error("No valid token"), "403": error("Missing read scope"), "404": error("stream_not_found"), "503": unavailable() } } },
            "/v1/streams/{stream}/events": { "post": {
                "summary": "Raw append (admin): every event must decode into a known type. Retrying event ids returns the original positions.",
                "parameters": [path("stream")],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["expected_version", "events"], "properties": {
                    "expected_version": { "oneOf": [{ "type": "integer" }, { "type": "string", "enum": ["any", "no_stream", "exists"] }] },
                    "events": { "type": "array", "items": r("NewEvent") } } } } } },
                "responses": { "200": ok(json!({ "type": "object", "properties": { "first_version": { "type": "integer" }, "last_version": { "type": "integer" }, "positions": { "type": "array", "items": { "type": "integer" } } } })),
                    "400": error("Bad body or unknown event type"), "401": error("No valid token"), "403": error("Missing admin scope, or forbidden_origin"), "409": error("wrong_expected_version, with expected and actual"), "413": error("Body too large"), "415": error("unsupported_media_type: the body is not sent as application/json"), "421": error("forbidden_host: a Host this server does not answer to"), "503": unavailable() } } },
            "/v1/views/{name}": { "get": {
                "summary": "A read model, with the log position it reflects: one value, or a page of its rows in key order; next is the key to read the following page after (null on the last).",
                "parameters": [path("name"), query("after", "The key after which the page starts (the previous page's next)"), query("limit", "At most this many rows (1-10000, default 1000)")],
                "responses": { "200": ok(json!({ "type": "object", "properties": { "position": { "type": "integer" }, "value": {}, "next": { "type": ["string", "null"] } } })),
                    "400": error("Bad parameter"), "401": error("No valid token"), "403": error("Missing read scope"), "404": error("view_not_found"), "503": unavailable() } } },
            "/v1/views/{name}/{key}": { "get": {
                "summary": "One row of a read model, keyed by the entity's id.",
                "parameters": [path("name"), path("key")],
                "responses": { "200": ok(json!({ "type": "object", "properties": { "position": { "type": "integer" }, "value": {} } })),
                    "401": error("No valid token"), "403": error("Missing read scope"), "404": error("view_not_found or row_not_found"), "503": unavailable() } } },
            "/healthz": { "get": { "summary": "Liveness, as /healthz/live (its older name); no token needed.", "security": [],
                "responses": { "200": { "description": "The process serves HTTP" } } } },
            "/healthz/live": { "get": { "summary": "Liveness: the process serves HTTP. It reads nothing, so it stays up while the database is away; no token needed.", "security": [],
                "responses": { "200": { "description": "The process serves HTTP" } } } },
            "/healthz/ready": { "get": { "summary": "Readiness: a read of the database answers, the writer can write and PostgreSQL's listener listens; no token needed.", "security": [],
                "responses": { "200": { "description": "Ready" }, "503": error("Not ready: the code of the first failing check, and checks naming each (read, writer, listener); Retry-After") } } },
            "/metrics": { "get": { "summary": "Prometheus text, counted over every tenant (admin scope).", "responses": { "200": { "description": "text/plain" }, "401": error("No valid token"), "403": error("Missing admin scope") } } },
            "/v1/openapi.json": { "get": { "summary": "This document.", "responses": { "200": { "description": "OpenAPI 3" }, "401": error("No valid token"), "403": error("Missing read scope") } } }
        }
    })
}
