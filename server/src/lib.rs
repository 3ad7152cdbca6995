//! annals-server: the HTTP API of annals over SQLite (embedded) or PostgreSQL, for any domain.
//!
//! Every command is decided again here with the same annals-core rules the browser ran; the
//! store appends its events with gap-free positions and updates the read models in the same
//! transaction.
//!
//! A server for your own domain is one line, and keeps the whole command line (`serve`,
//! `export`, `import`, `rebuild`, `token`, every flag and `ANNALS_*` variable):
//!
//! ```no_run
//! # use annals_core::Domain;
//! # fn demo<Todo: Domain + Send + Sync>() -> std::process::ExitCode {
//! annals_server::main::<Todo>()
//! # }
//! ```
//!
//! [`app`] and [`run`] serve a router in-process, for tests and for programs of your own.
//!
//! With the cargo feature `testing`, the module `testing` is a harness for testing such a
//! server: a fresh SQLite or PostgreSQL database per test, the app in process or on a socket,
//! the real binary as a child process, an HTTP client, and `on_both_backends!`.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod engine;
pub mod error;
pub mod hosted;
pub mod reactions;
pub mod routes;
mod server;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use routes::{AppState, Limits, Metrics};
pub use server::{Server, main};

/// The application: the API router over `state`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Builds the shared state for a store and domain.
pub fn state(
    store: Arc<dyn store::Store>,
    domain: Arc<dyn hosted::Hosted>,
    keys: Option<auth::Keys>,
    limits: Limits,
) -> AppState {
    AppState {
        store,
        domain,
        keys,
        limits,
        metrics: Arc::new(Metrics::default()),
        subscriptions: Arc::default(),
        reactions: Arc::default(),
    }
}
