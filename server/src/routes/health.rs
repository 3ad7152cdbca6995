//! `GET /healthz` (liveness and a storage check, no auth) and `GET /metrics` (Prometheus text).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(health)).route("/metrics", get(metrics))
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.check().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok", "domain": state.domain.name() }))),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            let error = json!({ "code": "unavailable", "message": "The storage does not answer." });
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": error })))
        }
    }
}

async fn metrics(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> Result<impl IntoResponse, crate::error::ApiError> {
    // Counters span every tenant: they are for operators.
    caller.require(crate::auth::Scope::Admin)?;
    let m = &state.metrics;
    let counters = [
        (
            "annals_commands_accepted_total",
            "counter",
            "Commands recorded.",
            m.accepted.load(Ordering::Relaxed),
        ),
        (
            "annals_commands_rejected_total",
            "counter",
            "Commands refused.",
            m.rejected.load(Ordering::Relaxed),
        ),
        (
            "annals_events_appended_total",
            "counter",
            "Raw events appended.",
            m.appended.load(Ordering::Relaxed),
        ),
        (
            "annals_http_errors_total",
            "counter",
            "Responses with an error status.",
            m.errors.load(Ordering::Relaxed),
        ),
        (
            "annals_subscribers",
            "gauge",
            "Open subscriptions.",
            m.subscribers.load(Ordering::Relaxed),
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in counters {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
