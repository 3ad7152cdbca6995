//! `annals-server`: parse the command line, open storage, serve.

use std::process::ExitCode;

use annals_server::auth::{Claims, Keys, Scope};
use std::sync::Arc;

use annals_server::cli::{Cli, Command, Storage};
use annals_server::store::Store;
use annals_server::{Limits, admin, hosted};
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
        Command::Token { auth_secret, sub, tenant, scopes, ttl } => {
            let scopes = scopes
                .split(',')
                .map(|s| serde_json::from_value::<Scope>(s.trim().into()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "scopes are read, write and admin".to_owned())?;
            let exp = annals_server::routes::now_millis() / 1000 + ttl;
            println!("{}", Keys::new(&auth_secret).mint(&Claims { sub, tenant, scopes, exp }));
            Ok(())
        }
        Command::Export { storage, tenant, output } => block_on(async move {
            let store = open(&storage).await?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let count = admin::export(store.as_ref(), &tenant, &mut out).await?;
            eprintln!("exported {count} events of tenant {tenant}");
            Ok(())
        }),
        Command::Import { storage, tenant, input } => block_on(async move {
            let store = open(&storage).await?;
            let mut input: Box<dyn std::io::BufRead> = match &input {
                Some(path) => Box::new(std::io::BufReader::new(
                    std::fs::File::open(path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::BufReader::new(std::io::stdin().lock())),
            };
            let count = admin::import(store.as_ref(), &tenant, &mut input).await?;
            eprintln!("imported {count} events into tenant {tenant}");
            Ok(())
        }),
        Command::Rebuild { storage, tenant } => block_on(async move {
            let store = open(&storage).await?;
            let tenants = match tenant {
                Some(tenant) => vec![tenant],
                None => store.tenants().await.map_err(|e| e.to_string())?,
            };
            for tenant in tenants {
                let count =
                    admin::rebuild(store.as_ref(), &tenant).await.map_err(|e| e.to_string())?;
                eprintln!("rebuilt the views of tenant {tenant} from {count} events");
            }
            Ok(())
        }),
        Command::Serve {
            listen,
            storage,
            auth_secret,
            r#static,
            max_body,
            max_subscriptions,
            cors_origin,
            allowed_host,
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
                let limits = Limits {
                    body: max_body,
                    subscriptions: max_subscriptions,
                    cors_origins: cors_origin,
                    allowed_hosts: allowed_host,
                };
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

fn block_on(work: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(work)
}

fn domain(storage: &Storage) -> Result<Arc<dyn hosted::Hosted>, String> {
    hosted::by_name(&storage.domain)
        .ok_or_else(|| format!("unknown domain {:?}: use inventory or bank", storage.domain))
}

async fn open(storage: &Storage) -> Result<Arc<dyn Store>, String> {
    domain(storage)?
        .open(&storage.database)
        .await
        .map_err(|e| format!("cannot open {}: {e}", storage.database))
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
