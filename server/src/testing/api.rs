//! A client of the API, in process or over HTTP, and checks of what it answers.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::http::{self, EventStream};

/// A response: status, headers and the whole body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}), status {}: {}", self.status, self.text())
        })
    }

    /// The JSON body of a 200; panics on any other status.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {}: {}", self.status, self.text());
        self.json()
    }

    /// A header's value (the name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Checks that `reply` is an API error, `{"error": {"code", "message", ...}}` as JSON with a
/// snake_case code and a message, and returns its code.
#[track_caller]
pub fn error_code(reply: &Reply) -> String {
    assert!(
        reply.header("content-type").is_some_and(|t| t.starts_with("application/json")),
        "an error of status {} is not JSON: {:?} {}",
        reply.status,
        reply.header("content-type"),
        reply.text()
    );
    let body = reply.json();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error of status {} has no error.code: {body}", reply.status));
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(!message.is_empty(), "an error has no message: {body}");
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "the code {code:?} is not snake_case"
    );
    code.to_owned()
}

/// Checks that `reply` is the API error `status` / `code`.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "expected {status} {code}, got: {}", reply.text());
    assert_eq!(error_code(reply), code, "{}", reply.text());
}

/// A command of type `kind` with `data` and a fresh id, as `POST /v1/commands` takes it.
pub fn command(kind: &str, data: Value) -> Value {
    json!({ "id": uuid::Uuid::new_v4(), "type": kind, "data": data })
}

/// The global position of an envelope; panics if it has none.
pub fn position(event: &Value) -> u64 {
    event["position"].as_u64().unwrap_or_else(|| panic!("no position in {event}"))
}

/// Where requests go: straight into a router, or over HTTP to an address.
#[derive(Clone)]
enum Target {
    Router(Router),
    Http(SocketAddr),
}

/// A client of the API, optionally with a bearer token.
///
/// A body is sent as `Content-Type: application/json` unless the headers name another type.
#[derive(Clone)]
pub struct Api {
    target: Target,
    token: Option<String>,
}

impl Api {
    /// Requests into `router`, in process.
    pub fn router(router: Router) -> Api {
        Api { target: Target::Router(router), token: None }
    }

    /// Requests over HTTP to `addr`.
    pub fn http(addr: SocketAddr) -> Api {
        Api { target: Target::Http(addr), token: None }
    }

    /// The same client, sending `token` as `Authorization: Bearer`.
    pub fn with_token(&self, token: &str) -> Api {
        Api { target: self.target.clone(), token: Some(token.to_owned()) }
    }

    /// The address of an HTTP client; panics for an in-process one.
    pub fn addr(&self) -> SocketAddr {
        match self.target {
            Target::Http(addr) => addr,
            Target::Router(_) => panic!("an in-process client has no address"),
        }
    }

    fn authorization(&self) -> Option<String> {
        self.token.as_ref().map(|token| format!("Bearer {token}"))
    }

    /// Sends a request; errors only for a connection that fails or a response cut short.
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<Reply> {
        let authorization = self.authorization();
        let all = with_authorization(headers, authorization.as_deref());
        match &self.target {
            Target::Http(addr) => http::send(*addr, method, path, &all, body).await,
            Target::Router(router) => {
                let mut request = axum::http::Request::builder().method(method).uri(path);
                for (name, value) in &all {
                    request = request.header(*name, *value);
                }
                let given = all.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
                if body.is_some() && !given {
                    request = request.header("content-type", "application/json");
                }
                let body = axum::body::Body::from(body.unwrap_or_default().to_vec());
                let request = request.body(body).map_err(io::Error::other)?;
                let response = router.clone().oneshot(request).await.map_err(io::Error::other)?;
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                    .collect();
                let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .map_err(io::Error::other)?;
                Ok(Reply { status, headers, body: body.to_vec() })
            }
        }
    }

    /// Sends a request that must get a whole response.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        self.try_send(method, path, headers, body)
            .await
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, &[], Some(body.to_string().as_bytes())).await
    }

    /// `POST path` with these exact bytes.
    pub async fn post_bytes(&self, path: &str, body: &[u8]) -> Reply {
        self.send("POST", path, &[], Some(body)).await
    }

    /// `POST /v1/commands` with these commands (see [`command`]).
    pub async fn push(&self, commands: &[Value]) -> Reply {
        self.post("/v1/commands", &json!({ "commands": commands })).await
    }

    /// Pushes commands that must all be accepted; returns the response's JSON.
    pub async fn push_accepted(&self, commands: &[Value]) -> Value {
        let response = self.push(commands).await.ok();
        for result in response["results"].as_array().expect("results") {
            assert_eq!(result["status"], "accepted", "{result}");
        }
        response
    }

    /// `POST /v1/streams/{stream}/events`: raw events, appended at `expected` (a version,
    /// `"any"`, `"no_stream"`...).
    pub async fn append(&self, stream: &str, expected: Value, events: &[Value]) -> Reply {
        let body = json!({ "expected_version": expected, "events": events });
        self.post(&format!("/v1/streams/{stream}/events"), &body).await
    }

    /// The whole log, page by page, and the head.
    pub async fn log(&self) -> (Vec<Value>, u64) {
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, position);
            let page = self.get(&format!("/v1/events?after={after}&limit=10000")).await.ok();
            let batch = page["events"].as_array().expect("events").clone();
            if batch.is_empty() {
                let head = page["head"].as_u64().expect("head");
                return (events, head);
            }
            events.extend(batch);
        }
    }

    /// A view's whole value (`GET /v1/views/{name}`), which must be there.
    pub async fn view(&self, name: &str) -> Value {
        self.get(&format!("/v1/views/{name}")).await.ok()
    }

    /// Subscribes over HTTP to the events after `after`; the subscription must open.
    pub async fn subscribe(&self, after: u64) -> EventStream {
        match self.try_subscribe(&format!("/v1/subscribe?after={after}"), &[]).await {
            Ok(stream) => stream,
            Err(reply) => panic!("the subscription was refused: {} {}", reply.status, reply.text()),
        }
    }

    /// Opens `path` as an event stream over HTTP; a refusal comes back as its [`Reply`].
    pub async fn try_subscribe(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<EventStream, Reply> {
        let authorization = self.authorization();
        let all = with_authorization(headers, authorization.as_deref());
        EventStream::open(self.addr(), path, &all).await.expect("open the event stream")
    }
}

/// `headers` and, if there is one, the `Authorization` header.
fn with_authorization<'a>(
    headers: &[(&'a str, &'a str)],
    authorization: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut all = headers.to_vec();
    if let Some(authorization) = authorization {
        all.push(("Authorization", authorization));
    }
    all
}
