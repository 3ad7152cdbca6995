//! `GET /v1/events?after=P&limit=N`: the tenant's global log.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{AppState, Params, json_text};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::store::EventRow;

/// Most events one page returns.
pub const MAX_PAGE: u32 = 10_000;
/// Events a page holds unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/events", get(pull))
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    after: u64,
    limit: Option<u32>,
}

/// Checks a page size: absent means `default`; 0 or more than [`MAX_PAGE`] is refused.
pub fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(limit @ 1..=MAX_PAGE) => Ok(limit),
        Some(limit) => Err(ApiError::bad_request(
            "invalid_parameter",
            format!("limit must be 1 to {MAX_PAGE}, not {limit}."),
        )),
    }
}

async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Params(page): Params<Page>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let limit = page_limit(page.limit, DEFAULT_PAGE)?;
    let log = state.store.events_after(&caller.tenant, page.after, limit).await?;
    let mut out = String::with_capacity(log.events.len() * 256 + 40);
    out.push_str(r#"{"events":"#);
    write_events(&mut out, &log.events);
    out.push_str(&format!(r#","head":{}}}"#, log.head));
    Ok(json_text(out))
}

/// Stored events as a JSON array of envelopes.
pub fn events_json(events: &[EventRow]) -> String {
    let mut out = String::with_capacity(events.len() * 256 + 2);
    write_events(&mut out, events);
    out
}

/// Appends stored events to `out` as a JSON array of envelopes.
fn write_events(out: &mut String, events: &[EventRow]) {
    out.push('[');
    for (index, event) in events.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        event.write_json(out);
    }
    out.push(']');
}
