//! [`Server`]: a program serving one or more domains, with the whole command line of
//! `annals-server` (`serve`, `export`, `import`, `rebuild`, `token`).

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use annals_core::Domain;
use clap::{CommandFactory, FromArgMatches};
use tokio::net::TcpListener;

use crate::auth::{Claims, Keys, Scope};
use crate::cli::{Cli, Command, ReactionsAction, Storage};
use crate::hosted::{self, Hosted};
use crate::reactions::webhook::Webhook;
use crate::reactions::{Consumer, Reaction, Reactions};
use crate::store::Store;
use crate::store::reactions;
use crate::{Limits, admin};

/// A server program for the domains it is given: a user's `main` is one line.
///
/// ```no_run
/// # use annals_core::Domain;
/// # fn demo<Todo: Domain + Send + Sync, Notes: Domain + Send + Sync>() -> std::process::ExitCode {
/// // One domain:
/// annals_server::main::<Todo>()
/// # ;
/// // Several, chosen with `--domain` (the first by default):
/// annals_server::Server::new().domain::<Todo>().domain::<Notes>().main()
/// # }
/// ```
#[derive(Default)]
pub struct Server {
    domains: Vec<Arc<dyn Hosted>>,
    /// Reactions, by the name of their domain.
    reactions: Vec<(&'static str, Arc<dyn Consumer>)>,
}

/// Serves the one domain `D` with the whole command line; for a binary's `main`.
pub fn main<D: Domain + Send + Sync>() -> ExitCode {
    Server::new().domain::<D>().main()
}

impl Server {
    /// A server with no domain yet.
    pub fn new() -> Self {
        Server::default()
    }

    /// Hosts `D` too; its [`Domain::NAME`] selects it with `--domain`.
    pub fn domain<D: Domain + Send + Sync>(mut self) -> Self {
        self.domains.push(hosted::host::<D>());
        self
    }

    /// Runs `reaction` whenever this program serves `D` (see [`crate::reactions`]).
    pub fn reaction<D: Domain + Send + Sync>(mut self, reaction: Reaction<D>) -> Self {
        self.reactions.push((D::NAME, Arc::new(reaction)));
        self
    }

    /// Parses the process's arguments, runs the command, and reports any failure on stderr.
    pub fn main(self) -> ExitCode {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "annals_server=info".into()),
            )
            .init();
        let args: Vec<OsString> = std::env::args_os().collect();
        let name = program_name(args.first());
        match self.run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{name}: {message}");
                ExitCode::FAILURE
            }
        }
    }

    /// Runs the command `args` name (the first being the program's name, which the help and
    /// errors use). `--help` and argument errors print and exit, as command lines do.
    pub fn run<I: IntoIterator<Item = T>, T: Into<OsString> + Clone>(
        self,
        args: I,
    ) -> Result<(), String> {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let name = program_name(args.first());
        let mut command = Cli::command().name(name.clone()).bin_name(name);
        if self.domains.len() < 2 {
            // With one domain there is nothing to choose.
            for subcommand in ["serve", "export", "import", "rebuild", "openapi"] {
                command = command
                    .mut_subcommand(subcommand, |c| c.mut_arg("domain", |arg| arg.hide(true)));
            }
            command = command.mut_subcommand("reactions", |c| {
                c.mut_subcommand("list", |c| c.mut_arg("domain", |arg| arg.hide(true)))
                    .mut_subcommand("reset", |c| c.mut_arg("domain", |arg| arg.hide(true)))
            });
        }
        let matches = command.get_matches_from(args);
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        run(cli, &self)
    }
}

/// The program's file name, as its user typed it (`annals-server` when unknown).
fn program_name(first: Option<&OsString>) -> String {
    first
        .and_then(|path| std::path::Path::new(path).file_name())
        .map_or_else(|| "annals-server".to_owned(), |name| name.to_string_lossy().into_owned())
}

fn run(cli: Cli, server: &Server) -> Result<(), String> {
    let domains = &server.domains;
    match cli.command {
        Command::Reactions { action: ReactionsAction::List { storage, tenant } } => {
            block_on(async move {
                let store = open(&storage, domains).await?;
                let text = admin::list_reactions(store.as_ref(), tenant.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                print!("{text}");
                Ok(())
            })
        }
        Command::Reactions { action: ReactionsAction::Reset { storage, name, tenant, to } } => {
            block_on(async move {
                let store = open(&storage, domains).await?;
                let moved = reactions::reset(store.reactions(), tenant.as_deref(), &name, to)
                    .await
                    .map_err(|e| e.to_string())?;
                eprintln!("reset {moved} checkpoint(s) of reaction {name} to position {to}");
                Ok(())
            })
        }
        Command::Token { auth_secret, sub, tenant, scopes, ttl } => {
            let scopes = scopes
                .split(',')
                .map(|s| serde_json::from_value::<Scope>(s.trim().into()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "scopes are read, write and admin".to_owned())?;
            let keys = keys(&auth_secret)?;
            let exp = crate::routes::now_millis() / 1000 + ttl;
            println!("{}", keys.mint(&Claims { sub, tenant, scopes, exp, nbf: None }));
            Ok(())
        }
        Command::Openapi { domain: name, output } => {
            let document = crate::routes::openapi_document(&*domain(name.as_deref(), domains)?);
            let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())? + "\n";
            match &output {
                Some(path) => std::fs::write(path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        Command::Export { storage, tenant, output } => block_on(async move {
            let store = open(&storage, domains).await?;
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
            let store = open(&storage, domains).await?;
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
            let store = open(&storage, domains).await?;
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
            webhook,
            webhook_types,
            webhook_secret,
            webhook_tries,
            no_reactions,
        } => {
            if auth_secret.is_none() && !listen.ip().is_loopback() {
                return Err(format!(
                    "refusing to listen on {listen} without --auth-secret: local mode serves loopback only"
                ));
            }
            let keys = auth_secret.as_deref().map(keys).transpose()?;
            let domain = domain(storage.domain.as_deref(), domains)?;
            let mut consumers: Vec<Arc<dyn Consumer>> = server
                .reactions
                .iter()
                .filter(|(name, _)| *name == domain.name())
                .map(|(_, reaction)| reaction.clone())
                .collect();
            let hooks =
                webhooks(&webhook, &webhook_types, webhook_secret.as_deref(), webhook_tries)?;
            consumers.extend(hooks);
            check_names(&consumers)?;
            if no_reactions {
                consumers.clear();
            }
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let store = domain
                    .open(&storage.database)
                    .await
                    .map_err(|e| format!("cannot open {}: {e}", storage.database))?;
                let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                if keys.is_none() {
                    tracing::warn!("local mode: no --auth-secret, single tenant \"default\", loopback only");
                }
                tracing::info!(address = %listen, domain = domain.name(), database = %storage.database, "serving");
                let limits = Limits {
                    body: max_body,
                    subscriptions: max_subscriptions,
                    cors_origins: cors_origin,
                    allowed_hosts: allowed_host,
                };
                let mut state = crate::state(store.clone(), domain, keys, limits);
                state.reactions = Arc::new(Reactions::start(store, consumers));
                let mut app = crate::app(state);
                if let Some(dir) = r#static {
                    app = crate::routes::with_static(app, dir);
                }
                crate::run(listener, app, shutdown()).await.map_err(|e| e.to_string())
            })
        }
    }
}

/// The webhooks of `--webhook NAME=URL`, each with its `--webhook-types NAME=TYPES`.
fn webhooks(
    specs: &[String],
    types: &[String],
    secret: Option<&str>,
    tries: u32,
) -> Result<Vec<Arc<dyn Consumer>>, String> {
    for spec in types {
        let (name, _) = pair(spec, "--webhook-types")?;
        if !specs.iter().any(|s| s.split_once('=').is_some_and(|(n, _)| n == name)) {
            return Err(format!("--webhook-types names {name:?}, which no --webhook names"));
        }
    }
    let mut hooks: Vec<Arc<dyn Consumer>> = Vec::new();
    for spec in specs {
        let (name, url) = pair(spec, "--webhook")?;
        let secret = secret.ok_or("--webhook needs --webhook-secret (ANNALS_WEBHOOK_SECRET)")?;
        let mut hook = Webhook::new(name, url, secret.as_bytes())?.tries(tries);
        for spec in types {
            if let Some((_, list)) = spec.split_once('=').filter(|(n, _)| *n == name) {
                let list: Vec<&str> = list.split(',').map(str::trim).collect();
                hook = hook.event_types(&list);
            }
        }
        hooks.push(Arc::new(hook));
    }
    Ok(hooks)
}

/// `NAME=VALUE` of a flag's value.
fn pair<'a>(spec: &'a str, flag: &str) -> Result<(&'a str, &'a str), String> {
    spec.split_once('=').ok_or_else(|| format!("{flag} takes NAME=VALUE, not {spec:?}"))
}

/// Refuses reactions whose names cannot key a checkpoint, or that share one.
fn check_names(consumers: &[Arc<dyn Consumer>]) -> Result<(), String> {
    for (index, consumer) in consumers.iter().enumerate() {
        let name = consumer.name();
        if !crate::reactions::valid_name(name) {
            return Err(format!(
                "a reaction's name is 1 to 64 letters, digits, - or _, not {name:?}"
            ));
        }
        if consumers[..index].iter().any(|other| other.name() == name) {
            return Err(format!("two reactions are named {name:?}"));
        }
    }
    Ok(())
}

/// The keys of `--auth-secret`, or why the secret is refused.
fn keys(secret: &str) -> Result<Keys, String> {
    Keys::new(secret).map_err(|err| format!("refusing --auth-secret (ANNALS_AUTH_SECRET): {err}"))
}

fn block_on(work: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(work)
}

/// The hosted domain `--domain` names, or the first.
fn domain(name: Option<&str>, domains: &[Arc<dyn Hosted>]) -> Result<Arc<dyn Hosted>, String> {
    let names = || domains.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ");
    let found = match name {
        Some(name) => domains.iter().find(|d| d.name() == name),
        None => domains.first(),
    };
    found.cloned().ok_or_else(|| match name {
        Some(name) => format!("unknown domain {name:?}: this server hosts {}", names()),
        None => "this server hosts no domain: give Server::domain one".to_owned(),
    })
}

async fn open(storage: &Storage, domains: &[Arc<dyn Hosted>]) -> Result<Arc<dyn Store>, String> {
    domain(storage.domain.as_deref(), domains)?
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
