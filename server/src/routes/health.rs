//! Probes for load balancers and orchestrators (no auth), and `GET /metrics` (Prometheus text).
//!
//! - `GET /healthz/live` (and `GET /healthz`, its older name): the process serves HTTP. It
//!   reads nothing, so it stays 200 while the database is away: restarting the process would
//!   not bring the database back.
//! - `GET /healthz/ready`: this node can serve requests now: a read of the database answers,
//!   and none of the store's parts (its writer, PostgreSQL's listener) is down. Otherwise 503
//!   with `Retry-After`, so a balancer sends traffic elsewhere until the parts reconnect.

use std::sync::atomic::Ordering;
use std::time::Duration;

use annals_core::protocol::{ErrorBody, ErrorResponse};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::error::unavailable;
use crate::reactions::Stats;
use crate::store::reactions::ConsumerRow;
use crate::store::{Fault, Part, StoreError};

/// How long readiness waits for the database to answer a read.
const READ_WAIT: Duration = Duration::from_secs(3);

/// The paths of the probes, which answer whatever `Host` a balancer sends.
pub const PROBES: [&str; 3] = ["/healthz", "/healthz/live", "/healthz/ready"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(live))
        .route("/healthz/live", get(live))
        .route("/healthz/ready", get(ready))
        .route("/metrics", get(metrics))
}

async fn live(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "domain": state.domain.name() }))
}

async fn ready(State(state): State<AppState>) -> Response {
    let read = match tokio::time::timeout(READ_WAIT, state.store.check()).await {
        Ok(read) => read,
        Err(_) => Err(StoreError::new(
            Fault::Unreachable,
            format!("the database did not answer a read within {READ_WAIT:?}"),
        )),
    };
    let mut failures: Vec<(&str, StoreError)> = Vec::new();
    if let Err(err) = read {
        failures.push(("read", err));
    }
    failures.extend(state.store.health().down().into_iter().map(|(part, err)| (part.name(), err)));
    let Some((_, first)) = failures.first() else {
        return Json(json!({ "status": "ready", "domain": state.domain.name() })).into_response();
    };
    let (code, message, retry_after) = unavailable(first.fault);
    let mut checks = Map::new();
    for (part, err) in &failures {
        tracing::debug!(part, error = %err, "not ready");
        checks.insert((*part).to_owned(), Value::from(unavailable(err.fault).0));
    }
    let names: Vec<&str> = failures.iter().map(|(part, _)| *part).collect();
    let error = ErrorBody {
        code: code.to_owned(),
        message: format!("This node is not ready ({}). {message}", names.join(", ")),
        details: [("checks".to_owned(), Value::Object(checks))].into(),
    };
    let mut response =
        (StatusCode::SERVICE_UNAVAILABLE, Json(ErrorResponse { error })).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
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
    // Per connection of the store: how often it was made again, and failed to be made.
    let health = state.store.health();
    let per_connection = [
        (
            "annals_storage_reconnects_total",
            "Connections to the database made again after one was lost or could not be made.",
            Part::ALL.map(|part| (part, health.reconnects(part))),
        ),
        (
            "annals_storage_connect_failures_total",
            "Attempts to connect to the database that failed.",
            Part::ALL.map(|part| (part, health.failed_connects(part))),
        ),
    ];
    for (name, help, values) in per_connection {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (part, value) in values {
            let connection = part.name();
            text.push_str(&format!("{name}{{connection=\"{connection}\"}} {value}\n"));
        }
    }
    reaction_metrics(&state, &mut text).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// A metric's name, type and help, and how to read its value.
type Metric<F> = (&'static str, &'static str, &'static str, F);
/// A reaction's figure in a tenant, from its checkpoint and the tenant's head.
type PerTenant = fn(&ConsumerRow, u64) -> u64;
/// A reaction's figure on this node.
type PerNode = fn(&Stats) -> u64;

/// Each reaction's checkpoint in each tenant (from the database, whichever node runs it), and
/// what this node did.
async fn reaction_metrics(state: &AppState, text: &mut String) -> Result<(), StoreError> {
    let rows = crate::store::reactions::consumers(state.store.reactions()).await?;
    let mut heads = std::collections::HashMap::new();
    for row in &rows {
        if !heads.contains_key(&row.tenant) {
            let head = crate::store::head(state.store.as_ref(), &row.tenant).await?;
            heads.insert(row.tenant.clone(), head);
        }
    }
    let per_tenant: [Metric<PerTenant>; 4] = [
        (
            "annals_reaction_position",
            "gauge",
            "The last position a reaction handled or passed.",
            |r, _| r.checkpoint.position,
        ),
        (
            "annals_reaction_lag",
            "gauge",
            "Events committed after a reaction's position.",
            |r, head| head.saturating_sub(r.checkpoint.position),
        ),
        (
            "annals_reaction_failures",
            "gauge",
            "Failed tries of the event after a reaction's position.",
            |r, _| u64::from(r.checkpoint.failures),
        ),
        (
            "annals_reaction_parked",
            "gauge",
            "Events a reaction parked, not yet retried or skipped.",
            |r, _| r.parked,
        ),
    ];
    for (name, kind, help, value) in per_tenant {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for row in &rows {
            let head = heads.get(&row.tenant).copied().unwrap_or(0);
            let (reaction, tenant) = (&row.name, label(&row.tenant));
            let value = value(row, head);
            text.push_str(&format!(
                "{name}{{reaction=\"{reaction}\",tenant=\"{tenant}\"}} {value}\n"
            ));
        }
    }
    let here: [Metric<PerNode>; 4] = [
        (
            "annals_reaction_handled_total",
            "counter",
            "Events this node's reactions handled.",
            |s| s.handled.load(Ordering::Relaxed),
        ),
        ("annals_reaction_failed_tries_total", "counter", "Failed tries on this node.", |s| {
            s.failures.load(Ordering::Relaxed)
        }),
        ("annals_reaction_parked_total", "counter", "Events parked by this node.", |s| {
            s.parked.load(Ordering::Relaxed)
        }),
        ("annals_reaction_running", "gauge", "1 when this node runs the reaction now.", |s| {
            u64::from(s.running.load(Ordering::Relaxed))
        }),
    ];
    for (name, kind, help, value) in here {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (consumer, stats) in state.reactions.consumers() {
            let reaction = consumer.name();
            text.push_str(&format!("{name}{{reaction=\"{reaction}\"}} {}\n", value(stats)));
        }
    }
    Ok(())
}

/// A label value in the Prometheus text format.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
