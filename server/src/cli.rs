//! The command line: `serve | export | import | rebuild | token`, configured by flags or
//! `ANNALS_*` variables, for whichever domains a [`Server`](crate::Server) hosts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// An annals server: the HTTP API of a domain over SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "annals-server", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives and which rules decide it.
#[derive(Debug, clap::Args)]
pub struct Storage {
    /// The database: sqlite://PATH (embedded, the default) or postgres://...
    #[arg(long, env = "ANNALS_DATABASE", default_value = "sqlite://annals.db")]
    pub database: String,
    /// The domain whose rules decide commands, when the server hosts several (the first by
    /// default).
    #[arg(long, env = "ANNALS_DOMAIN")]
    pub domain: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve {
        /// The address to listen on. Without a secret only loopback addresses are allowed.
        #[arg(long, env = "ANNALS_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// The HS256 secret for bearer tokens, at least 32 bytes (`openssl rand -base64 32`
        /// makes one). Without it the server runs in local mode.
        #[arg(long, env = "ANNALS_AUTH_SECRET", hide_env_values = true)]
        auth_secret: Option<String>,
        /// A folder of static files (the app) served under `/`.
        #[arg(long, env = "ANNALS_STATIC")]
        r#static: Option<PathBuf>,
        /// Largest request body, in bytes.
        #[arg(long, env = "ANNALS_MAX_BODY", default_value_t = 1024 * 1024)]
        max_body: usize,
        /// Most open subscriptions per token subject.
        #[arg(long, env = "ANNALS_MAX_SUBSCRIPTIONS", default_value_t = 64)]
        max_subscriptions: usize,
        /// An origin allowed to call the API from a browser (repeat for more); none by default.
        #[arg(long, env = "ANNALS_CORS_ORIGIN", value_delimiter = ',')]
        cors_origin: Vec<String>,
        /// A host name to answer to besides loopback ones, as a proxy in front sends it
        /// (repeat for more). With a secret, naming any makes them the only ones answered.
        #[arg(long, env = "ANNALS_ALLOWED_HOST", value_delimiter = ',')]
        allowed_host: Vec<String>,
        /// Webhooks to POST events to, as NAME=URL (repeat for more; URLs are http://). Each
        /// runs as the reaction `webhook-NAME`, signed with --webhook-secret.
        #[arg(long, env = "ANNALS_WEBHOOK", value_delimiter = ',', value_name = "NAME=URL")]
        webhook: Vec<String>,
        /// The event types a webhook sends, as NAME=TYPE,TYPE (repeat for more webhooks); all
        /// types when not given.
        #[arg(long, value_name = "NAME=TYPES")]
        webhook_types: Vec<String>,
        /// The secret that signs webhook requests (HMAC-SHA256), at least 16 bytes.
        #[arg(long, env = "ANNALS_WEBHOOK_SECRET", hide_env_values = true)]
        webhook_secret: Option<String>,
        /// Tries of an event before a webhook parks it; the waits between them double from
        /// one second up to a minute.
        #[arg(long, env = "ANNALS_WEBHOOK_TRIES", default_value_t = crate::reactions::webhook::TRIES)]
        webhook_tries: u32,
        /// Run no reaction on this node: it serves the API only (other nodes on the same
        /// PostgreSQL run the reactions).
        #[arg(long, env = "ANNALS_NO_REACTIONS")]
        no_reactions: bool,
    },
    /// List reactions' checkpoints, or start one over.
    Reactions {
        /// What to do.
        #[command(subcommand)]
        action: ReactionsAction,
    },
    /// Write a tenant's log to a file (or stdout) as NDJSON, one envelope per line.
    Export {
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// The tenant.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The file to write; stdout when absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Append the envelopes of an NDJSON export to a tenant (ids, versions and metadata kept).
    Import {
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// The tenant.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The file to read; stdin when absent.
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Rebuild the read models of one tenant (or all) from the log.
    Rebuild {
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// The tenant; every tenant when absent.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Write the OpenAPI document of the HTTP API, with the domain's types, as
    /// `GET /v1/openapi.json` serves it (no database, no server needed).
    Openapi {
        /// The domain, when the server hosts several (the first by default).
        #[arg(long, env = "ANNALS_DOMAIN")]
        domain: Option<String>,
        /// The file to write; stdout when absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print a signed token.
    Token {
        /// The HS256 secret the server uses, at least 32 bytes.
        #[arg(long, env = "ANNALS_AUTH_SECRET", hide_env_values = true)]
        auth_secret: String,
        /// The subject.
        #[arg(long, default_value = "admin")]
        sub: String,
        /// The tenant.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Comma-separated scopes: read, write, admin.
        #[arg(long, default_value = "read,write")]
        scopes: String,
        /// How long the token lives, in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
    },
}

/// `reactions list | reset`.
#[derive(Debug, Subcommand)]
pub enum ReactionsAction {
    /// Each reaction's position, lag, failures and parked events, per tenant.
    List {
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Start a reaction over at a position (0: the whole log is delivered again), forgetting
    /// its failures and parked events. A running server goes on from there.
    Reset {
        /// The database and domain.
        #[command(flatten)]
        storage: Storage,
        /// The reaction.
        name: String,
        /// Only in this tenant; every tenant when absent.
        #[arg(long)]
        tenant: Option<String>,
        /// The position it has handled up to.
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
}
