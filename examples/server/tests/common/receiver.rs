//! A webhook receiver on loopback: records each delivery, checks its signature, and answers
//! 500 while told to fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The secret the tests sign webhooks with.
pub const WEBHOOK_SECRET: &str = "a webhook secret of the tests";

/// What the receiver saw.
#[derive(Default)]
pub struct Received {
    /// Deliveries per event id, with the event's envelope.
    pub events: Mutex<HashMap<String, (u64, Value)>>,
    /// Deliveries answered 500.
    pub refused: AtomicU64,
    /// Deliveries whose signature did not verify.
    pub forged: AtomicU64,
    /// Whether to answer 500.
    pub failing: AtomicBool,
    /// How long to take over each answer.
    pub delay_ms: AtomicU64,
}

impl Received {
    /// How many distinct events came, and how many deliveries in all.
    pub fn counts(&self) -> (usize, u64) {
        let events = self.events.lock().expect("lock");
        (events.len(), events.values().map(|(n, _)| n).sum())
    }

    /// The ids of the events that came.
    pub fn ids(&self) -> Vec<String> {
        self.events.lock().expect("lock").keys().cloned().collect()
    }
}

/// Serves a receiver on `127.0.0.1:0`; its URL for `--webhook`, and what it saw.
pub async fn receiver() -> (String, Arc<Received>) {
    let received = Arc::new(Received::default());
    let app = Router::new().route("/hook", post(deliver)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), received)
}

async fn deliver(
    State(received): State<Arc<Received>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let delay = received.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if received.failing.load(Ordering::Relaxed) {
        received.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if !verified(&headers, &body) {
        received.forged.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    let delivery: Value = serde_json::from_slice(&body).expect("a JSON body");
    let event = delivery["event"].clone();
    let id = event["id"].as_str().expect("an event id").to_owned();
    assert_eq!(headers.get("annals-event-id").and_then(|v| v.to_str().ok()), Some(id.as_str()));
    let mut events = received.events.lock().expect("lock");
    events.entry(id).or_insert((0, event)).0 += 1;
    StatusCode::NO_CONTENT
}

/// Whether `Annals-Signature: t=<ms>,v1=<hex>` is HMAC-SHA256 of `<ms>.<body>` under the secret.
fn verified(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(header) = headers.get("annals-signature").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = header.split(',');
    let (Some(t), Some(v1)) = (
        parts.next().and_then(|p| p.strip_prefix("t=")),
        parts.next().and_then(|p| p.strip_prefix("v1=")),
    ) else {
        return false;
    };
    let Ok(expected) = (0..v1.len() / 2)
        .map(|i| u8::from_str_radix(v1.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("a key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}
