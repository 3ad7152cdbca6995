//! What every integration test shares: a fresh database on either backend, the app in process
//! or on a real socket, the real binary as a child process, tokens, commands, and checks of
//! the log.
//!
//! A scenario is written once as `async fn scenario(backend: &Backend)` and instantiated for
//! both backends with [`on_both_backends!`].

#![allow(dead_code, unused_macros)]

pub mod http;
pub mod postgres;

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use annals_core::Uuid;
use annals_server::auth::{Claims, Keys, Scope};
use annals_server::store::Store;
use annals_server::{Limits, hosted};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub use self::http::EventStream;

/// How long one scenario may take before it counts as hung.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(150);

/// Instantiates `async fn $scenario(backend: &Backend)` as one test per backend.
macro_rules! on_both_backends {
    ($scenario:ident => $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            crate::common::run_scenario($scenario(&crate::common::Backend::Sqlite)).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            crate::common::run_scenario($scenario(&crate::common::Backend::Postgres)).await;
        }
    };
}

/// Runs a scenario, failing it if it hangs.
pub async fn run_scenario(scenario: impl Future<Output = ()>) {
    if tokio::time::timeout(SCENARIO_LIMIT, scenario).await.is_err() {
        panic!("the scenario did not finish within {SCENARIO_LIMIT:?}");
    }
}

/// The storage a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the test PostgreSQL (see [`postgres`]).
    Postgres,
}

impl Backend {
    /// A new, empty database of this backend, removed when dropped.
    pub async fn database(&self) -> Database {
        match self {
            Backend::Sqlite => {
                let dir = TempDir::new("annals-test-sqlite");
                let url = format!("sqlite://{}", dir.path().join("annals.db").display());
                Database { url, _keep: Keep::Dir(dir) }
            }
            Backend::Postgres => {
                let database = postgres::TestDatabase::create().await;
                Database { url: database.url.clone(), _keep: Keep::Postgres(database) }
            }
        }
    }
}

/// One test's database.
pub struct Database {
    /// Its URL, as `--database` takes it.
    pub url: String,
    _keep: Keep,
}

enum Keep {
    Dir(TempDir),
    Postgres(postgres::TestDatabase),
}

impl Database {
    /// Opens the database as the server does, with the inventory's rules.
    pub async fn store(&self) -> Arc<dyn Store> {
        let domain = hosted::host::<annals_inventory::Inventory>();
        domain.open(&self.url).await.expect("open the store")
    }

    /// The app in local mode (no secret, tenant `default`).
    pub async fn app(&self) -> TestApp {
        self.app_with(None, Limits::default()).await
    }

    /// The app with token keys and limits.
    pub async fn app_with(&self, keys: Option<Keys>, limits: Limits) -> TestApp {
        let store = self.store().await;
        let domain = hosted::host::<annals_inventory::Inventory>();
        let router = annals_server::app(annals_server::state(store.clone(), domain, keys, limits));
        TestApp { api: Api::router(router.clone()), router, store }
    }
}

/// The app in this process.
pub struct TestApp {
    /// Requests straight into the router (`oneshot`).
    pub api: Api,
    /// The router.
    pub router: Router,
    /// Its store.
    pub store: Arc<dyn Store>,
}

impl TestApp {
    /// Serves the app on `127.0.0.1:0` for real HTTP round trips.
    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = self.router.clone();
        let task = tokio::spawn(annals_server::run(listener, app, std::future::pending()));
        Served { api: Api::http(addr), addr, task }
    }
}

/// The app on a socket of this process.
pub struct Served {
    /// Requests over HTTP.
    pub api: Api,
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response: status, headers and the whole body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}), status {}: {}", self.status, self.text())
        })
    }

    /// The JSON body of a 200.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {}: {}", self.status, self.text());
        self.json()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Checks that `reply` is an API error, `{"error": {"code", "message", ...}}` as JSON, and
/// returns its code.
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

/// Where requests go: straight into a router, or over HTTP to an address.
#[derive(Clone)]
enum Target {
    Router(Router),
    Http(SocketAddr),
}

/// A client of the API, optionally with a bearer token.
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

    /// The same client, sending `token`.
    pub fn with_token(&self, token: &str) -> Api {
        Api { target: self.target.clone(), token: Some(token.to_owned()) }
    }

    /// The address of an HTTP client.
    pub fn addr(&self) -> SocketAddr {
        match self.target {
            Target::Http(addr) => addr,
            Target::Router(_) => panic!("an in-process client has no address"),
        }
    }

    /// Sends a request; errors only for a connection that fails or a response cut short.
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<Reply> {
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(authorization) = &authorization {
            all.push(("Authorization", authorization));
        }
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
                let request = request.body(body).expect("a valid request");
                let response = router.clone().oneshot(request).await.expect("the router answers");
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                    .collect();
                let body = response.into_body().collect().await.expect("the body").to_bytes();
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

    /// `POST /v1/commands` with these commands.
    pub async fn push(&self, commands: &[Value]) -> Reply {
        self.post("/v1/commands", &json!({ "commands": commands })).await
    }

    /// Pushes commands that must all be accepted; returns the response.
    pub async fn push_accepted(&self, commands: &[Value]) -> Value {
        let response = self.push(commands).await.ok();
        for result in response["results"].as_array().expect("results") {
            assert_eq!(result["status"], "accepted", "{result}");
        }
        response
    }

    /// `POST /v1/streams/{stream}/events`.
    pub async fn append(&self, stream: &str, expected: Value, events: &[Value]) -> Reply {
        let body = json!({ "expected_version": expected, "events": events });
        self.post(&format!("/v1/streams/{stream}/events"), &body).await
    }

    /// The whole log, page by page, and the head.
    pub async fn log(&self) -> (Vec<Value>, u64) {
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &Value| position(e));
            let page = self.get(&format!("/v1/events?after={after}&limit=10000")).await.ok();
            let batch = page["events"].as_array().expect("events").clone();
            if batch.is_empty() {
                let head = page["head"].as_u64().expect("head");
                return (events, head);
            }
            events.extend(batch);
        }
    }

    /// A view's whole value.
    pub async fn view(&self, name: &str) -> Value {
        self.get(&format!("/v1/views/{name}")).await.ok()
    }

    /// Subscribes over HTTP after `after`; the subscription must open.
    pub async fn subscribe(&self, after: u64) -> EventStream {
        match self.try_subscribe(&format!("/v1/subscribe?after={after}"), &[]).await {
            Ok(stream) => stream,
            Err(reply) => panic!("the subscription was refused: {} {}", reply.status, reply.text()),
        }
    }

    /// Opens `path` as an event stream over HTTP.
    pub async fn try_subscribe(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<EventStream, Reply> {
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(authorization) = &authorization {
            all.push(("Authorization", authorization));
        }
        EventStream::open(self.addr(), path, &all).await.expect("open the event stream")
    }
}

/// The position of an envelope.
pub fn position(event: &Value) -> u64 {
    event["position"].as_u64().unwrap_or_else(|| panic!("no position in {event}"))
}

/// The secret of the apps with auth.
pub const SECRET: &str = "the secret the tests share";

/// Seconds since the epoch.
pub fn now_seconds() -> i64 {
    annals_server::routes::now_millis() / 1000
}

/// A token signed with `secret` for `tenant` with `scopes`, expiring at `exp`.
pub fn token_with(secret: &str, tenant: &str, scopes: &[Scope], exp: i64) -> String {
    let claims =
        Claims { sub: format!("{tenant}-user"), tenant: tenant.into(), scopes: scopes.into(), exp };
    Keys::new(secret).mint(&claims)
}

/// A valid token for `tenant` with `scopes`, good for an hour.
pub fn token(tenant: &str, scopes: &[Scope]) -> String {
    token_with(SECRET, tenant, scopes, now_seconds() + 3600)
}

/// Every scope.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

/// The stream of an item.
pub fn item_stream(item: Uuid) -> String {
    format!("item-{item}")
}

/// A command with a fresh id.
pub fn command(kind: &str, data: Value) -> Value {
    json!({ "id": Uuid::new_v4(), "type": kind, "data": data })
}

/// `AddItem`.
pub fn add_item(item: Uuid, name: &str, reorder_level: i64) -> Value {
    command(
        "AddItem",
        json!({ "item": item, "name": name, "unit": "kg", "reorder_level": reorder_level }),
    )
}

/// `ReceiveStock`.
pub fn receive(item: Uuid, site: &str, qty: i64) -> Value {
    command("ReceiveStock", json!({ "item": item, "site": site, "qty": qty }))
}

/// `ConsumeStock`.
pub fn consume(item: Uuid, site: &str, qty: i64) -> Value {
    command("ConsumeStock", json!({ "item": item, "site": site, "qty": qty }))
}

/// A raw `StockReceived` event with a fresh id.
pub fn received_event(site: &str, qty: i64) -> Value {
    json!({ "id": Uuid::new_v4(), "type": "StockReceived", "data": { "site": site, "qty": qty } })
}

/// Checks the log's shape: positions exactly 1..=head in order, event ids unique, and each
/// stream's versions 1, 2, 3... in log order.
#[track_caller]
pub fn assert_whole_log(events: &[Value], head: u64) {
    let positions: Vec<u64> = events.iter().map(position).collect();
    let expected: Vec<u64> = (1..=head).collect();
    if positions != expected {
        let gaps: Vec<u64> = expected.iter().filter(|p| !positions.contains(p)).copied().collect();
        panic!("the log's positions are not 1..={head}: {} events, missing {gaps:?}", events.len());
    }
    let mut ids = HashSet::new();
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for event in events {
        let id = event["id"].as_str().expect("id");
        assert!(ids.insert(id), "event {id} is in the log twice");
        let stream = event["stream"].as_str().expect("stream");
        let version = versions.entry(stream).or_default();
        *version += 1;
        assert_eq!(event["version"], *version, "{stream} skips a version: {event}");
    }
}

/// One item's stock as folded from the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folded {
    /// Units per site.
    pub sites: BTreeMap<String, i64>,
    /// Units over all sites.
    pub total: i64,
}

/// Each item's stock, folded from the log's events by hand.
pub fn fold_stock(events: &[Value]) -> BTreeMap<String, Folded> {
    let mut items: BTreeMap<String, Folded> = BTreeMap::new();
    for event in events {
        let stream = event["stream"].as_str().expect("stream");
        let item = stream.strip_prefix("item-").expect("an item stream").to_owned();
        let data = &event["data"];
        let site = data["site"].as_str().unwrap_or_default().to_owned();
        let delta = match event["type"].as_str().expect("type") {
            "StockReceived" => data["qty"].as_i64().expect("qty"),
            "StockConsumed" => -data["qty"].as_i64().expect("qty"),
            "StockCounted" => data["delta"].as_i64().expect("delta"),
            _ => {
                items.entry(item).or_default();
                continue;
            }
        };
        let folded = items.entry(item).or_default();
        *folded.sites.entry(site).or_default() += delta;
        folded.total += delta;
    }
    items
}

/// Checks that the `stock` view equals a fold of `events`.
#[track_caller]
pub fn assert_stock_matches(stock: &Value, events: &[Value]) {
    let folded = fold_stock(events);
    let rows = stock.as_object().expect("stock is an object");
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        folded.keys().collect::<Vec<_>>(),
        "the stock view and the log name different items"
    );
    for (item, expected) in &folded {
        let row = &rows[item];
        let sites: BTreeMap<String, i64> =
            serde_json::from_value(row["sites"].clone()).expect("sites");
        assert_eq!(sites, expected.sites, "stock of {item} per site");
        assert_eq!(row["total"], expected.total, "total stock of {item}");
    }
}

/// A small random number generator (xorshift), seeded at random.
pub struct Rng(u64);

impl Rng {
    /// A generator with a random seed.
    pub fn new() -> Rng {
        Rng(Uuid::new_v4().as_u64_pair().0 | 1)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A directory removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory under the system's temporary folder.
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; a caller retries if it is taken since).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

static PROCESSES: AtomicUsize = AtomicUsize::new(0);

/// The real `annals-server` binary, serving on a port of its own.
pub struct ServerProcess {
    child: Child,
    /// A client of it.
    pub api: Api,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `annals-server serve` on `database` with `args`, logging into `logs`, and waits
    /// until it answers `/healthz`.
    pub async fn start(database: &str, args: &[&str], logs: &Path) -> ServerProcess {
        let mut failures = String::new();
        for _ in 0..5 {
            let port = free_port();
            let number = PROCESSES.fetch_add(1, Ordering::Relaxed);
            let log = logs.join(format!("server-{number}.log"));
            let file = std::fs::File::create(&log).expect("create the server's log");
            let child = Command::new(env!("CARGO_BIN_EXE_annals-server"))
                .arg("serve")
                .args(["--listen", &format!("127.0.0.1:{port}"), "--database", database])
                .args(["--domain", "inventory"])
                .args(args)
                .env("RUST_LOG", "annals_server=info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(file.try_clone().expect("clone the log file"))
                .stderr(file)
                .spawn()
                .expect("start annals-server");
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut server = ServerProcess { child, api: Api::http(addr), log };
            if server.ready().await {
                return server;
            }
            server.kill();
            failures.push_str(&server.log());
        }
        panic!("annals-server did not start:\n{failures}");
    }

    /// Waits until the server answers `/healthz`; false if it exited or never answered.
    async fn ready(&mut self) -> bool {
        for _ in 0..600 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if let Ok(reply) = self.api.try_send("GET", "/healthz", &[], None).await
                && reply.status == 200
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Kills the server with SIGKILL, as `kill -9` does, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
