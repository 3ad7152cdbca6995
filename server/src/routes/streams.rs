//! One stream: its events, its decided state (at any version), and raw appends (admin).

use annals_core::json;
use annals_core::protocol::{AppendRequest, StateResponse};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::events::{DEFAULT_PAGE, events_json, page_limit};
use super::{AppState, Body, Metrics, Params, Segments, json_text, now_millis};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::store::{AppendRefusal, WriteReply, WriteRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/streams/{stream}", get(events))
        .route("/v1/streams/{stream}/state", get(state_of))
        .route("/v1/streams/{stream}/events", axum::routing::post(append))
}

#[derive(Deserialize)]
struct Range {
    #[serde(default)]
    from: u64,
    limit: Option<u32>,
}

fn not_found(stream: &str) -> ApiError {
    ApiError::not_found("stream_not_found", format!("There is no stream {stream:?}."))
}

/// The most characters a stream's name has.
pub const MAX_STREAM_NAME: usize = 200;

fn check_name(stream: &str) -> Result<(), ApiError> {
    // PostgreSQL text cannot hold NUL: refuse control characters here rather than fail there.
    let length = stream.chars().count();
    if length == 0 || length > MAX_STREAM_NAME || stream.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_stream",
            format!(
                "A stream name is 1 to {MAX_STREAM_NAME} characters, none of them control characters."
            ),
        ));
    }
    Ok(())
}

async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Segments(stream): Segments<String>,
    Params(range): Params<Range>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    check_name(&stream)?;
    let limit = page_limit(range.limit, DEFAULT_PAGE)?;
    let (events, version) =
        state.store.stream_events(&caller.tenant, &stream, range.from.max(1), limit).await?;
    if version == 0 {
        return Err(not_found(&stream));
    }
    let name = serde_json::Value::from(stream.as_str());
    Ok(json_text(format!(
        r#"{{"stream":{name},"version":{version},"events":{}}}"#,
        events_json(&events)
    )))
}

#[derive(Deserialize)]
struct At {
    at: Option<u64>,
}

async fn state_of(
    State(state): State<AppState>,
    caller: Caller,
    Segments(stream): Segments<String>,
    Params(At { at }): Params<At>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    check_name(&stream)?;
    let stored = state.store.stream_state(&caller.tenant, &stream).await?;
    let Some(stored) = stored else {
        return Err(not_found(&stream));
    };
    if let Some(at) = at.filter(|at| *at > stored.version) {
        return Err(ApiError::not_found(
            "version_not_found",
            format!("{stream} is at version {}: it has no version {at} yet.", stored.version),
        ));
    }
    let needs_events = at.is_some() || !state.domain.current_state_is_stored(&stored);
    let events = if needs_events {
        let (events, _) = state.store.stream_events(&caller.tenant, &stream, 1, u32::MAX).await?;
        events
    } else {
        Vec::new()
    };
    let (version, value) = match at {
        Some(at) => (at, state.domain.state_at(&events, at)),
        None => (stored.version, state.domain.current_state(&stored, &events)),
    };
    let value = value?;
    Ok(json_text(json::to_string(&StateResponse { stream, version, state: value })))
}

async fn append(
    State(state): State<AppState>,
    caller: Caller,
    Segments(stream): Segments<String>,
    Body(request): Body<AppendRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    check_name(&stream)?;
    let count = request.events.len() as u64;
    let request =
        WriteRequest::Append { actor: caller.sub.clone(), at: now_millis(), stream, request };
    let reply = state.store.submit(&caller.tenant, request).await?;
    match reply {
        WriteReply::Append(Ok(response)) => {
            Metrics::add(&state.metrics.appended, count);
            Ok(json_text(serde_json::to_string(&response).map_err(ApiError::internal)?))
        }
        WriteReply::Append(Err(AppendRefusal::Invalid { code, message })) => {
            Err(ApiError::bad_request(code, message))
        }
        WriteReply::Append(Err(AppendRefusal::WrongExpectedVersion { expected, actual })) => {
            Err(ApiError::WrongExpectedVersion { expected, actual })
        }
        WriteReply::Commands { .. } | WriteReply::Rebuilt { .. } => {
            Err(ApiError::internal("the writer answered an append with another reply"))
        }
    }
}
