//! `GET /v1/views/{name}?after=KEY&limit=N` and `/v1/views/{name}/{key}`: read models, a
//! bounded page of rows at a time, with the position they reflect.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use serde::Deserialize;

use super::events::page_limit;
use super::{AppState, Params, Segments, json_text};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::store::RowsWanted;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/views/{name}", get(whole)).route("/v1/views/{name}/{key}", get(row))
}

fn single(state: &AppState, name: &str) -> Result<bool, ApiError> {
    let views = state.domain.views();
    let found = views.iter().find(|view| view.name == name);
    found.map(|view| view.single).ok_or_else(|| {
        let names: Vec<&str> = views.iter().map(|view| view.name).collect();
        ApiError::not_found(
            "view_not_found",
            format!("There is no view {name:?}; there are {}.", names.join(", ")),
        )
    })
}

/// Rows a page holds unless `limit` says otherwise.
pub const DEFAULT_ROWS: u32 = 1000;

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<u32>,
}

/// A view: one value, or a page of its rows in key order, `{position, value, next}`; `next`
/// is the key to ask for the following page `after`, `null` on the last one.
async fn whole(
    State(state): State<AppState>,
    caller: Caller,
    Segments(name): Segments<String>,
    Params(page): Params<Page>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let single = single(&state, &name)?;
    let limit = page_limit(page.limit, DEFAULT_ROWS)?;
    if page.after.as_deref().is_some_and(|after| after.chars().any(char::is_control)) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "after is a key of the view, without control characters.",
        ));
    }
    // One row more than the page, to know whether another page follows.
    let wanted = RowsWanted::Page { after: page.after, limit: limit + 1 };
    let mut rows = state.store.view_rows(&caller.tenant, &name, wanted).await?;
    let (value, next) = if single {
        (rows.rows.first().map_or("null".to_owned(), |(_, row)| row.clone()), None)
    } else {
        let more = rows.rows.len() > limit as usize;
        rows.rows.truncate(limit as usize);
        let next = rows.rows.last().filter(|_| more).map(|(key, _)| key.clone());
        let entries: Vec<String> = rows
            .rows
            .iter()
            .map(|(key, row)| format!("{}:{row}", serde_json::Value::from(key.as_str())))
            .collect();
        (format!("{{{}}}", entries.join(",")), next)
    };
    let next = serde_json::Value::from(next);
    Ok(json_text(format!(r#"{{"position":{},"value":{value},"next":{next}}}"#, rows.position)))
}

async fn row(
    State(state): State<AppState>,
    caller: Caller,
    Segments((name, key)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    if single(&state, &name)? {
        return Err(ApiError::not_found(
            "row_not_found",
            format!("{name} is one value, without keys."),
        ));
    }
    // Keys are entity ids: one with control characters (which PostgreSQL text cannot hold
    // when it is NUL) names no row.
    if key.chars().any(char::is_control) {
        return Err(ApiError::not_found("row_not_found", format!("{name} has no row {key:?}.")));
    }
    let rows = state.store.view_rows(&caller.tenant, &name, RowsWanted::Key(key.clone())).await?;
    let Some((_, row)) = rows.rows.first() else {
        return Err(ApiError::not_found("row_not_found", format!("{name} has no row {key:?}.")));
    };
    Ok(json_text(format!(r#"{{"position":{},"value":{row}}}"#, rows.position)))
}
