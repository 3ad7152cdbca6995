//! `GET /v1/views/{name}` and `/v1/views/{name}/{key}`: read models, with the position they
//! reflect.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{AppState, Segments, json_text};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;

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

async fn whole(
    State(state): State<AppState>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let single = single(&state, &name)?;
    let rows =
        state.store.view_rows(&caller.tenant, &name, None).await.map_err(ApiError::internal)?;
    let value = if single {
        rows.rows.first().map_or("null".to_owned(), |(_, row)| row.clone())
    } else {
        let entries: Vec<String> = rows
            .rows
            .iter()
            .map(|(key, row)| format!("{}:{row}", serde_json::Value::from(key.as_str())))
            .collect();
        format!("{{{}}}", entries.join(","))
    };
    Ok(json_text(format!(r#"{{"position":{},"value":{value}}}"#, rows.position)))
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
    let rows = state
        .store
        .view_rows(&caller.tenant, &name, Some(&key))
        .await
        .map_err(ApiError::internal)?;
    let Some((_, row)) = rows.rows.first() else {
        return Err(ApiError::not_found("row_not_found", format!("{name} has no row {key:?}.")));
    };
    Ok(json_text(format!(r#"{{"position":{},"value":{row}}}"#, rows.position)))
}
