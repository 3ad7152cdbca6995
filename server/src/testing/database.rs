//! A fresh database per test, and the app over it: in process or on a socket.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use annals_core::Domain;
use axum::Router;

use super::api::Api;
use super::process::TempDir;
use crate::auth::Keys;
use crate::reactions::{Consumer, Reactions};
use crate::store::Store;
use crate::{Limits, hosted};

/// How long one scenario may take before it counts as hung.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(150);

/// Runs a scenario, failing it if it does not finish within [`SCENARIO_LIMIT`].
pub async fn run_scenario(scenario: impl Future<Output = ()>) {
    if tokio::time::timeout(SCENARIO_LIMIT, scenario).await.is_err() {
        panic!("the scenario did not finish within {SCENARIO_LIMIT:?}");
    }
}

/// Runs a scenario from a plain `#[test]` on a fresh multi-threaded runtime of two workers
/// (what `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` gives), failing it if
/// it hangs.
pub fn run_scenario_blocking(scenario: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the test")
        .block_on(run_scenario(scenario));
}

/// The storage a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the test PostgreSQL: the server `ANNALS_TEST_DATABASE_URL` names,
    /// or else a private cluster (see [`postgres`](super::postgres)).
    Postgres,
}

impl Backend {
    /// A new, empty database of this backend, removed when dropped.
    pub async fn database(&self) -> Database {
        match self {
            Backend::Sqlite => {
                let dir = TempDir::new("annals-test-sqlite");
                let url = format!("sqlite://{}", dir.path().join("annals.db").display());
                Database { url, _keep: Box::new(dir) }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let database = super::postgres::TestDatabase::create().await;
                Database { url: database.url.clone(), _keep: Box::new(database) }
            }
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres => {
                panic!("annals-server was built without its `postgres` feature")
            }
        }
    }
}

/// One test's database; dropping it removes it.
pub struct Database {
    /// Its URL, as `--database` takes it.
    pub url: String,
    /// What the database lives in (its folder, or its PostgreSQL database), removed when
    /// dropped.
    _keep: Box<dyn Send + Sync>,
}

impl Database {
    /// A database at `url`, and what it lives in, removed when the database is dropped.
    pub(crate) fn new(url: String, keep: Box<dyn Send + Sync>) -> Database {
        Database { url, _keep: keep }
    }

    /// Opens the database as the server does, deciding commands with `D`'s rules.
    pub async fn store<D: Domain + Send + Sync>(&self) -> Arc<dyn Store> {
        let domain = hosted::host::<D>();
        domain.open(&self.url).await.unwrap_or_else(|err| panic!("open {}: {err}", self.url))
    }

    /// The app serving `D` in local mode (no secret, tenant `default`).
    pub async fn app<D: Domain + Send + Sync>(&self) -> TestApp {
        self.app_with::<D>(None, Limits::default()).await
    }

    /// The app serving `D` with token keys (`None` for local mode) and limits.
    pub async fn app_with<D: Domain + Send + Sync>(
        &self,
        keys: Option<Keys>,
        limits: Limits,
    ) -> TestApp {
        self.app_reacting::<D>(keys, limits, Vec::new()).await
    }

    /// The app serving `D` with token keys (`None` for local mode) and limits, running
    /// `reactions` as `serve` does (they stop when the app is dropped).
    pub async fn app_reacting<D: Domain + Send + Sync>(
        &self,
        keys: Option<Keys>,
        limits: Limits,
        reactions: Vec<Arc<dyn Consumer>>,
    ) -> TestApp {
        let store = self.store::<D>().await;
        let mut state = crate::state(store.clone(), hosted::host::<D>(), keys, limits);
        state.reactions = Arc::new(Reactions::start(store.clone(), reactions));
        let router = crate::app(state);
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
    /// Serves the app on `127.0.0.1:0` for real HTTP round trips, until the [`Served`] is
    /// dropped.
    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = self.router.clone();
        let task = tokio::spawn(crate::run(listener, app, std::future::pending()));
        Served { api: Api::http(addr), addr, task }
    }
}

/// The app on a socket of this process; dropping it stops serving.
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
