//! `GET /v1/subscribe?after=P`: the live log as Server-Sent Events. Each event's `id:` is its
//! position, so a client resumes with `Last-Event-ID`; comments keep idle connections alive.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;

use super::{AppState, Metrics, Params};
use crate::auth::{Caller, Scope};
use crate::error::ApiError;

/// Most events one read of the log or of memory hands a subscriber.
const PAGE: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/subscribe", get(subscribe))
}

#[derive(Deserialize)]
struct From {
    #[serde(default)]
    after: u64,
}

/// Releases a subscription slot when the connection closes.
struct Slot {
    state: AppState,
    subject: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.state.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.subject) {
            *count = count.saturating_sub(1);
        }
        self.state.metrics.subscribers.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Params(From { after }): Params<From>,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    caller.require(Scope::Read)?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let after = match resume {
        Some(id) => id.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_request("invalid_parameter", "Last-Event-ID must be a position.")
        })?,
        None => after,
    };
    let subject = format!("{}/{}", caller.tenant, caller.sub);
    {
        let mut open = state.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(subject.clone()).or_default();
        if *count >= state.limits.subscriptions {
            return Err(ApiError::TooMany(format!(
                "At most {} subscriptions may be open per token.",
                state.limits.subscriptions
            )));
        }
        *count += 1;
    }
    Metrics::add(&state.metrics.subscribers, 1);
    let slot = Arc::new(Slot { state: state.clone(), subject });
    let heads = state.store.watch(&caller.tenant);
    let tenant = caller.tenant.clone();
    // The first read and any read after a quiet spell go to the log; after a wake-up, the
    // events just committed here are taken from memory when they follow on.
    let events = stream::unfold((after, heads, slot, false), move |next| {
        let (after, mut heads, slot, mut woken) = next;
        let mut failing = false;
        let store = state.store.clone();
        let tenant = tenant.clone();
        async move {
            loop {
                let page = match woken.then(|| store.recent(&tenant, after, PAGE)).flatten() {
                    Some(page) => Ok(page),
                    None => store.events_after(&tenant, after, PAGE as u32).await.map(|page| {
                        page.events.iter().map(|e| (e.position, Arc::from(e.to_json()))).collect()
                    }),
                };
                match page {
                    Ok(page) if !page.is_empty() => {
                        let last = page.last().map_or(after, |(position, _)| *position);
                        let batch: Vec<Result<Event, std::convert::Infallible>> = page
                            .iter()
                            .map(|(position, json)| {
                                Ok(Event::default().id(position.to_string()).data(&**json))
                            })
                            .collect();
                        return Some((stream::iter(batch), (last, heads, slot, woken)));
                    }
                    Ok(_) => {}
                    Err(err) => {
                        // Said once per spell of failures, not every half second.
                        if !std::mem::replace(&mut failing, true) {
                            tracing::warn!(error = %err, "a subscription cannot read the log; it keeps trying");
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        woken = false;
                        continue;
                    }
                }
                // Wait for the head to move (a commit here, or a notification from another
                // node), re-reading the log now and then in case a wake-up was missed.
                woken = tokio::time::timeout(Duration::from_secs(5), heads.changed())
                    .await
                    .is_ok_and(|changed| changed.is_ok());
            }
        }
    })
    .flatten();
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
