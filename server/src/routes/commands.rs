//! `POST /v1/commands`: push a batch of commands; the server decides each with the core.

use annals_core::protocol::{MAX_BATCH, PushRequest};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use super::{AppState, Body, Metrics, json_text, now_millis};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::store::{WriteReply, WriteRequest};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/commands", post(push))
}

async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Body(push): Body<PushRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    if push.commands.len() > MAX_BATCH {
        return Err(ApiError::TooLarge(format!(
            "A push carries at most {MAX_BATCH} commands, not {}.",
            push.commands.len()
        )));
    }
    for (index, command) in push.commands.iter().enumerate() {
        state.domain.check_command(command).map_err(|err| {
            let code = if err.code == "unknown_command_type" {
                "unknown_command_type"
            } else {
                "invalid_command"
            };
            ApiError::bad_request(
                code,
                format!("Command {index} ({}): {}", command.id, err.message),
            )
        })?;
    }
    let request = WriteRequest::Commands {
        actor: caller.sub.clone(),
        at: now_millis(),
        commands: push.commands,
    };
    let reply = state.store.submit(&caller.tenant, request).await?;
    let WriteReply::Commands { results, head } = reply else {
        return Err(ApiError::internal("the writer answered a push with another reply"));
    };
    let accepted = results.iter().filter(|r| r.get().contains(r#""status":"accepted""#)).count();
    Metrics::add(&state.metrics.accepted, accepted as u64);
    Metrics::add(&state.metrics.rejected, (results.len() - accepted) as u64);
    let results: Vec<&str> = results.iter().map(|r| r.get()).collect();
    Ok(json_text(format!(r#"{{"results":[{}],"head":{head}}}"#, results.join(","))))
}
