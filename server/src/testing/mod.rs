//! A test harness for servers of your own domain (cargo feature `testing`): a fresh database on
//! either backend, the app in process or on a real socket, your real binary as a child
//! process, a small HTTP/1.1 client with a Server-Sent Events reader, and tokens.
//!
//! ```no_run
//! # use annals_core::Domain;
//! # async fn demo<Todo: Domain + Send + Sync>() {
//! use annals_server::testing::{Backend, command};
//! use serde_json::json;
//!
//! let db = Backend::Sqlite.database().await; // or Backend::Postgres
//! let app = db.app::<Todo>().await; // the router in process, local mode
//! let reply = app.api.push(&[command("AddTodo", json!({ "todo": "...", "title": "Milk" }))]).await;
//! assert_eq!(reply.ok()["results"][0]["status"], "accepted");
//! # }
//! ```
//!
//! A scenario written once as `async fn scenario(backend: &Backend)` becomes one test per
//! backend with [`on_both_backends!`](crate::on_both_backends).
//!
//! [`Backend::Postgres`] runs on the server that `ANNALS_TEST_DATABASE_URL` names, or else on a
//! private cluster the test binary starts once with `initdb` and `pg_ctl` (see [`postgres`]);
//! it is never skipped. A test that stops or restarts PostgreSQL starts a
//! [`Cluster`] of its own.

mod api;
mod database;
pub mod http;
#[cfg(feature = "postgres")]
pub mod postgres;
mod process;
mod tokens;

pub use api::{Api, Reply, assert_error, command, error_code, position};
pub use database::{
    Backend, Database, SCENARIO_LIMIT, Served, TestApp, run_scenario, run_scenario_blocking,
};
pub use http::{EventStream, SseEvent};
#[cfg(feature = "postgres")]
pub use postgres::{Cluster, Shutdown};
pub use process::{ServerProcess, TempDir, free_port};
pub use tokens::{ALL_SCOPES, SECRET, keys, now_seconds, token, token_between, token_with};

pub use crate::on_both_backends;

/// Instantiates `async fn $scenario(backend: &Backend)` as two tests, `$sqlite` and
/// `$postgres`, each on a fresh multi-threaded runtime and failing if the scenario hangs
/// (see [`run_scenario_blocking`](crate::testing::run_scenario_blocking)).
///
/// ```no_run
/// use annals_server::on_both_backends;
/// use annals_server::testing::Backend;
///
/// async fn fresh(backend: &Backend) {
///     let db = backend.database().await;
///     assert!(db.url.starts_with("sqlite://") || db.url.starts_with("postgres://"));
/// }
///
/// on_both_backends!(fresh => fresh_sqlite, fresh_postgres);
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:path => $sqlite:ident, $postgres:ident $(,)?) => {
        #[test]
        fn $sqlite() {
            $crate::testing::run_scenario_blocking($scenario(&$crate::testing::Backend::Sqlite));
        }

        #[test]
        fn $postgres() {
            $crate::testing::run_scenario_blocking($scenario(&$crate::testing::Backend::Postgres));
        }
    };
}
