//! `annals-server`: parse the command line, open storage, serve.

use std::process::ExitCode;

use annals_server::auth::{Claims, Keys, Scope};
use annals_server::cli::{Cli, Command};
use annals_server::{Limits, hosted};
use clap::Parser;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "annals_server=info".into()),
        )
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("annals-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Token {
            auth_secret,
            sub,
            tenant,
            scopes,
            ttl,
        } => {
            let scopes = scopes
                .split(',')
                .map(|s| serde_json::from_value::<Scope>(s.trim().into()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "scopes are read, write and admin".to_owned())?;
            let exp = annals_server::routes::now_millis() / 1000 + ttl;
            println!(
                "{}",
                Keys::new(&auth_secret).mint(&Claims {
                    sub,
                    tenant,
                    scopes,
                    exp
                })
            );
            Ok(())
        }
        Command::Serve {
            listen,
            storage,
            auth_secret,
            r#static,
            max_body,
            max_subscriptions,
        } => {
            if auth_secret.is_none() && !listen.ip().is_loopback() {
                return Err(format!(
                    "refusing to listen on {listen} without --auth-secret: local mode serves loopback only"
                ));
            }
            let domain = hosted::by_name(&storage.domain).ok_or_else(|| {
                format!("unknown domain {:?}: use inventory or bank", storage.domain)
            })?;
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let store = domain
                    .open(&storage.database)
                    .await
                    .map_err(|e| format!("cannot open {}: {e}", storage.database))?;
                let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                if auth_secret.is_none() {
                    tracing::warn!("local mode: no --auth-secret, single tenant \"default\", loopback only");
                }
                tracing::info!(address = %listen, domain = domain.name(), database = %storage.database, "serving");
                let limits = Limits { body: max_body, subscriptions: max_subscriptions };
                let state = annals_server::state(store, domain, auth_secret.as_deref().map(Keys::new), limits);
                let mut app = annals_server::app(state);
                if let Some(dir) = r#static {
                    app = annals_server::routes::with_static(app, dir);
                }
                annals_server::run(listener, app, shutdown()).await.map_err(|e| e.to_string())
            })
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
