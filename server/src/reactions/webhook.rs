//! The built-in webhook reaction: POSTs chosen events to a URL, signed with HMAC-SHA256, and
//! tries again with backoff until the receiver answers 2xx (parking the event after its
//! tries, like any reaction).
//!
//! Each request carries one event, `{"tenant": ..., "event": <envelope>}`, with headers
//! `Annals-Reaction` (the webhook's reaction name), `Annals-Event-Id` (the same on every
//! delivery of one event: a receiver drops repeats by it) and
//! `Annals-Signature: t=<ms>,v1=<hex>`, where `<hex>` is HMAC-SHA256 under the shared secret
//! of `<ms>.<body>` ([`signature`]): the receiver recomputes it, compares in constant time, and
//! may refuse old `t`s.
//!
//! Plain `http://` only: put a proxy that speaks TLS in front of a receiver elsewhere.

use std::sync::Arc;
use std::time::Duration;

use annals_core::protocol::CommandRequest;
use axum::body::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use sha2::Sha256;

use super::{Consumer, HandlerError, Settings};
use crate::routes::now_millis;
use crate::store::{BoxFuture, EventRow, Store};

/// Tries of an event before it is parked, unless configured otherwise.
pub const TRIES: u32 = 10;

/// The wait after a first failed delivery; it doubles up to a minute, so the default tries
/// span about four minutes of a receiver that is down.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// How long a receiver may take to answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// Shortest secret accepted, in bytes.
pub const SHORTEST_SECRET: usize = 16;

/// A webhook: where to POST which events, and the secret that signs them.
pub struct Webhook {
    settings: Settings,
    target: Target,
    secret: Arc<[u8]>,
}

/// Where requests go.
#[derive(Clone, Debug)]
struct Target {
    /// `host:port` to connect to.
    address: String,
    /// The `Host` header.
    host: String,
    /// The path and query.
    path: String,
}

impl Webhook {
    /// A webhook named `name` POSTing every event to `url` (`http://host[:port]/path`), signed
    /// with `secret`; its reaction is called `webhook-<name>`.
    pub fn new(name: &str, url: &str, secret: &[u8]) -> Result<Webhook, String> {
        let reaction = format!("webhook-{name}");
        if name.is_empty() || !super::valid_name(&reaction) {
            return Err(format!(
                "a webhook's name is 1 to 56 letters, digits, - or _, not {name:?}"
            ));
        }
        if secret.len() < SHORTEST_SECRET {
            return Err(format!(
                "the webhook secret must be at least {SHORTEST_SECRET} bytes, not {}",
                secret.len()
            ));
        }
        Ok(Webhook {
            settings: Settings::new(&reaction, TRIES, FIRST_WAIT),
            target: target(url)?,
            secret: secret.into(),
        })
    }

    /// Only events of these types.
    pub fn event_types(mut self, types: &[&str]) -> Self {
        self.settings.filter.types = types.iter().map(|&t| t.to_owned()).collect();
        self
    }

    /// Tries of an event before it is parked (at least 1).
    pub fn tries(mut self, tries: u32) -> Self {
        self.settings.tries = tries.max(1);
        self
    }

    /// The wait after a first failed delivery, doubling up to a minute.
    pub fn backoff(mut self, first_wait: Duration) -> Self {
        self.settings.first_wait = first_wait;
        self
    }
}

/// Where an `http://` URL points.
fn target(url: &str) -> Result<Target, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!(
            "a webhook's URL starts with http:// (put a TLS proxy in front for https), not {url:?}"
        )
    })?;
    let (host, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
    if host.is_empty() || host.contains(['@', ' ']) {
        return Err(format!("a webhook's URL names no host it can reach: {url:?}"));
    }
    let address = if host.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        && !host.ends_with(']')
    {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Ok(Target { address, host: host.to_owned(), path: path.to_owned() })
}

/// The signature of `body` sent at `t` (milliseconds since the epoch) under `secret`: hex
/// HMAC-SHA256 of `<t>.<body>`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// POSTs one body and reads the answer's status.
async fn post(
    target: &Target,
    headers: Vec<(&'static str, String)>,
    body: String,
) -> Result<u16, HandlerError> {
    let stream = tokio::net::TcpStream::connect(&target.address).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    let driving = tokio::spawn(connection);
    let mut request = Request::post(&target.path)
        .header("host", &target.host)
        .header("content-type", "application/json")
        .header("user-agent", concat!("annals-server/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = sender.send_request(request.body(Full::new(Bytes::from(body)))?).await?;
    driving.abort();
    Ok(response.status().as_u16())
}

impl Consumer for Webhook {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn handle(
        &self,
        tenant: &str,
        event: &EventRow,
        _: &Arc<dyn Store>,
    ) -> BoxFuture<'static, Result<Vec<CommandRequest>, HandlerError>> {
        let mut body = String::from(r#"{"tenant":"#);
        annals_core::json::push_string(&mut body, tenant);
        body.push_str(r#","event":"#);
        event.write_json(&mut body);
        body.push('}');
        let t = now_millis();
        let headers = vec![
            ("annals-reaction", self.settings.name.clone()),
            ("annals-event-id", event.id.to_string()),
            (
                "annals-signature",
                format!("t={t},v1={}", signature(&self.secret, t, body.as_bytes())),
            ),
        ];
        let target = self.target.clone();
        Box::pin(async move {
            let status =
                tokio::time::timeout(ANSWER_WAIT, post(&target, headers, body)).await.map_err(
                    |_| format!("{} did not answer within {ANSWER_WAIT:?}", target.host),
                )??;
            if (200..300).contains(&status) {
                Ok(Vec::new())
            } else {
                Err(format!("{} answered {status}", target.host).into())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_where_to_connect() {
        let t = target("http://127.0.0.1:9000/hooks/annals?x=1").expect("valid");
        assert_eq!(
            (t.address.as_str(), t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:9000", "127.0.0.1:9000", "/hooks/annals?x=1")
        );
        let t = target("http://example.test").expect("valid");
        assert_eq!((t.address.as_str(), t.path.as_str()), ("example.test:80", "/"));
        for bad in ["https://example.test/", "ftp://x", "http:///path", "http://user@host/"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_signature_is_hex_hmac_sha256_of_the_time_a_dot_and_the_body() {
        // Computed elsewhere: `hmac.new(b"Jefe", b"12.{}", hashlib.sha256).hexdigest()`.
        assert_eq!(
            signature(b"Jefe", 12, b"{}"),
            "920d401f4879de198b71e775f802db6e3364de1e84bd18ca56903b6593a32642"
        );
        assert_ne!(signature(b"Jefe", 13, b"{}"), signature(b"Jefe", 12, b"{}"));
    }
}
