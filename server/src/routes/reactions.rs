//! `GET /v1/reactions`: each reaction's place in the caller's tenant (position, lag, failures,
//! parked events); `POST /v1/reactions/{name}/parked/{position}/retry` and `.../skip`: what
//! to do with a parked event. All of them need the `admin` scope.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{AppState, Segments};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::store::reactions::{self, ConsumerRow, Parked};
use annals_core::Position;

use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reactions", get(list))
        .route("/v1/reactions/{name}/parked/{position}/retry", post(retry))
        .route("/v1/reactions/{name}/parked/{position}/skip", post(skip))
}

/// The JSON of a parked event.
fn parked_json(parked: &Parked) -> Value {
    json!({
        "position": parked.position,
        "type": parked.event_type,
        "tries": parked.tries,
        "error": parked.error,
        "at": parked.at,
        "retry": parked.retry,
    })
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let tenant = &caller.tenant;
    let sql = state.store.reactions();
    let head = store::head(state.store.as_ref(), tenant).await?;
    let rows: Vec<ConsumerRow> =
        reactions::consumers(sql).await?.into_iter().filter(|row| row.tenant == *tenant).collect();
    // Those this node runs, and those the database knows of (from this node or another).
    let mut names: Vec<String> =
        state.reactions.consumers().map(|(c, _)| c.name().to_owned()).collect();
    names.extend(
        rows.iter().map(|row| row.name.clone()).filter(|n| !names.contains(n)).collect::<Vec<_>>(),
    );
    let mut out = Vec::new();
    for name in names {
        let checkpoint = rows.iter().find(|row| row.name == name).map(|row| row.checkpoint.clone());
        let checkpoint = checkpoint.unwrap_or_default();
        let here = state.reactions.consumers().find(|(c, _)| c.name() == name);
        let parked = reactions::parked(sql, tenant, &name).await?;
        out.push(json!({
            "name": name,
            "position": checkpoint.position,
            "lag": head.saturating_sub(checkpoint.position),
            "failures": checkpoint.failures,
            "error": checkpoint.error,
            "hosted": here.is_some(),
            "running": here.is_some_and(|(_, stats)| stats.running.load(Ordering::Relaxed)),
            "parked": parked.iter().map(parked_json).collect::<Vec<_>>(),
        }));
    }
    Ok(axum::Json(json!({ "head": head, "reactions": out })).into_response())
}

/// The parked event a path names, or 404.
async fn find_parked(
    state: &AppState,
    tenant: &str,
    name: &str,
    position: Position,
) -> Result<Parked, ApiError> {
    let parked = reactions::parked(state.store.reactions(), tenant, name).await?;
    parked.into_iter().find(|p| p.position == position).ok_or_else(|| {
        ApiError::not_found(
            "parked_event_not_found",
            format!("The reaction {name:?} has no event parked at position {position}."),
        )
    })
}

/// Asks for a parked event to be tried again; the node running the reaction does so on its
/// next round and removes it from the parked events once handled.
async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Segments((name, position)): Segments<(String, Position)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    find_parked(&state, &caller.tenant, &name, position).await?;
    reactions::request_retry(state.store.reactions(), &caller.tenant, &name, position).await?;
    let parked = find_parked(&state, &caller.tenant, &name, position).await;
    let body =
        parked.map_or_else(|_| json!({ "position": position, "retry": true }), |p| parked_json(&p));
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// Gives up on a parked event: it is never delivered again.
async fn skip(
    State(state): State<AppState>,
    caller: Caller,
    Segments((name, position)): Segments<(String, Position)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let parked = find_parked(&state, &caller.tenant, &name, position).await?;
    reactions::skip(state.store.reactions(), &caller.tenant, &name, position).await?;
    Ok(axum::Json(json!({ "skipped": parked_json(&parked) })).into_response())
}
