//! Reactions: consumers of the log that run in the server, each under a name, with a durable
//! checkpoint in the same database.
//!
//! A [`Reaction`] receives the committed events of every tenant in position order (those of
//! the categories and types it asks for), at least once: its checkpoint moves only past
//! events it handled. A handler that fails is tried again with backoff; after
//! [`Reaction::tries`] failed tries the event is parked and the reaction goes on with the
//! next (`GET /v1/reactions` lists parked events; an operator retries or skips them).
//!
//! A handler may answer with commands. They go through the server's write path like any
//! client's, with ids derived from the reaction's name and the event's id, so an event
//! delivered again issues the same commands, which the server records once; their events'
//! meta names the event as their causation.
//!
//! ```no_run
//! # use annals_core::Domain;
//! # use annals_server::reactions::Reaction;
//! # fn demo<Todo: Domain + Send + Sync>() -> std::process::ExitCode {
//! let audit = Reaction::<Todo>::sync("audit", |delivery| {
//!     println!("{} at {}", delivery.event_type, delivery.position);
//!     Ok(Vec::new())
//! });
//! annals_server::Server::new().domain::<Todo>().reaction(audit).main()
//! # }
//! ```
//!
//! On PostgreSQL with several nodes, each reaction runs on one node at a time (see
//! [`Claimant`](crate::store::reactions::Claimant)) and another node takes it over within
//! about [`CLAIM_EVERY`] when that node dies.

mod runner;
pub mod webhook;

pub use runner::{CLAIM_EVERY, Reactions, Stats};

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use annals_core::protocol::{Attached, CommandRequest};
use annals_core::{CommandData, Domain, Envelope, Position, Uuid, json};

use crate::engine::{decode_row, decode_rows};
use crate::store::{BoxFuture, EventRow, Store};

/// What a handler's failure says: any error.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A handler's answer: the commands to issue (often none), or why it failed.
pub type Handled<C> = Result<Vec<C>, HandlerError>;

/// Tries of an event before it is parked, unless a reaction says otherwise.
pub const TRIES: u32 = 5;

/// The first wait after a failed try, unless a reaction says otherwise; it doubles with each
/// further failure, up to [`LONGEST_WAIT`].
pub const FIRST_WAIT: Duration = Duration::from_millis(200);

/// The longest wait between two tries of one event.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// One event delivered to a reaction of domain `D`.
pub struct Delivery<D: Domain> {
    /// The tenant whose log holds it.
    pub tenant: String,
    /// Its position in that log.
    pub position: Position,
    /// Its type, as stored.
    pub event_type: String,
    /// The event, decoded (older schemas upcast), with its stream, version, id and meta.
    pub envelope: Envelope<D::Event>,
    store: Arc<dyn Store>,
    states: Arc<States>,
}

/// The states of streams a reaction folded last, by tenant and stream: its version and its
/// JSON. A reaction is handed a stream's events in order, so the state it asks for next is
/// nearly always a few events after one it asked for before.
#[derive(Default)]
struct States(std::sync::Mutex<HashMap<(String, String), (u64, String)>>);

/// Streams whose state a reaction keeps at most; past that it starts afresh.
const KEPT_STATES: usize = 4096;

impl States {
    fn get(&self, tenant: &str, stream: &str) -> Option<(u64, String)> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.get(&(tenant.to_owned(), stream.to_owned())).cloned()
    }

    fn keep(&self, tenant: &str, stream: &str, version: u64, state: String) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT_STATES {
            kept.clear();
        }
        let entry =
            kept.entry((tenant.to_owned(), stream.to_owned())).or_insert((0, String::new()));
        if version >= entry.0 {
            *entry = (version, state);
        }
    }
}

impl<D: Domain> Delivery<D> {
    /// The state of the event's stream just before it: what the event changed.
    pub async fn state_before(&self) -> Result<D::State, HandlerError> {
        self.state_at(self.envelope.version.saturating_sub(1)).await
    }

    /// The state of the event's stream after its first `version` events: folded from the
    /// state at the version this reaction last asked for, when that was no later, else from
    /// the stream's first event.
    pub async fn state_at(&self, version: u64) -> Result<D::State, HandlerError> {
        let (tenant, stream) = (&self.tenant, &self.envelope.stream);
        let (from, mut state) = match self.states.get(tenant, stream) {
            Some((kept, json)) if kept <= version => (kept, json::from_str::<D::State>(&json)?),
            _ => (0, D::initial(stream)),
        };
        if version > from {
            let count = u32::try_from(version - from)?;
            let (rows, _) = self.store.stream_events(tenant, stream, from + 1, count).await?;
            for envelope in decode_rows::<D>(&rows)?.iter().take_while(|e| e.version <= version) {
                D::evolve(&mut state, &envelope.event);
            }
        }
        self.states.keep(tenant, stream, version, json::to_string(&state));
        Ok(state)
    }
}

/// A handler that runs to its end when called.
type SyncHandler<D> = dyn Fn(&Delivery<D>) -> Handled<<D as Domain>::Command> + Send + Sync;

/// A handler that gives a future to await.
type AsyncHandler<D> =
    dyn Fn(Delivery<D>) -> BoxFuture<'static, Handled<<D as Domain>::Command>> + Send + Sync;

/// A handler, as given.
enum Handler<D: Domain> {
    Sync(Box<SyncHandler<D>>),
    Async(Box<AsyncHandler<D>>),
}

/// A reaction of domain `D`: a name, a handler, and which events it wants.
pub struct Reaction<D: Domain> {
    settings: Settings,
    handler: Handler<D>,
    states: Arc<States>,
}

/// What every consumer has: a name, the events it wants, and how it is tried again.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Its name, which keys its checkpoints.
    pub name: String,
    /// Which events it wants.
    pub filter: Filter,
    /// Tries of an event before it is parked.
    pub tries: u32,
    /// The wait after a first failed try, doubling after each further one up to
    /// [`LONGEST_WAIT`].
    pub first_wait: Duration,
}

impl Settings {
    /// A consumer named `name`, wanting every event, tried `tries` times from `first_wait`.
    pub fn new(name: &str, tries: u32, first_wait: Duration) -> Settings {
        Settings { name: name.to_owned(), filter: Filter::default(), tries, first_wait }
    }
}

/// Which events a consumer wants: all, or those of some categories or types.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Stream categories (`item` of `item-<id>`); any when empty.
    pub categories: Vec<String>,
    /// Event types; any when empty.
    pub types: Vec<String>,
}

impl Filter {
    /// Whether `event` passes.
    pub fn wants(&self, event: &EventRow) -> bool {
        let category = event.stream.split_once('-').map_or(event.stream.as_str(), |(c, _)| c);
        (self.categories.is_empty() || self.categories.iter().any(|c| c == category))
            && (self.types.is_empty() || self.types.contains(&event.event_type))
    }
}

impl<D: Domain + Send + Sync> Reaction<D> {
    /// A reaction named `name` (letters, digits, `-` and `_`; it keys the checkpoint, so
    /// renaming a reaction starts it over) with an async handler.
    pub fn new<F, Fut>(name: &str, handler: F) -> Self
    where
        F: Fn(Delivery<D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Handled<D::Command>> + Send + 'static,
    {
        Reaction::with(name, Handler::Async(Box::new(move |delivery| Box::pin(handler(delivery)))))
    }

    /// A reaction with a handler that does not wait: it runs on the server's async threads,
    /// so it must not block (for I/O, use [`Reaction::new`]).
    pub fn sync(
        name: &str,
        handler: impl Fn(&Delivery<D>) -> Handled<D::Command> + Send + Sync + 'static,
    ) -> Self {
        Reaction::with(name, Handler::Sync(Box::new(handler)))
    }

    fn with(name: &str, handler: Handler<D>) -> Self {
        let settings = Settings::new(name, TRIES, FIRST_WAIT);
        Reaction { settings, handler, states: Arc::default() }
    }

    /// Only events of these stream categories.
    pub fn categories(mut self, categories: &[&str]) -> Self {
        self.settings.filter.categories = categories.iter().map(|&c| c.to_owned()).collect();
        self
    }

    /// Only events of these types.
    pub fn event_types(mut self, types: &[&str]) -> Self {
        self.settings.filter.types = types.iter().map(|&t| t.to_owned()).collect();
        self
    }

    /// Tries of an event before it is parked (at least 1; [`TRIES`] by default).
    pub fn tries(mut self, tries: u32) -> Self {
        self.settings.tries = tries.max(1);
        self
    }

    /// The wait after a first failed try ([`FIRST_WAIT`] by default), doubling after each
    /// further one up to [`LONGEST_WAIT`].
    pub fn backoff(mut self, first_wait: Duration) -> Self {
        self.settings.first_wait = first_wait;
        self
    }
}

/// A consumer of the log, whatever its domain: what the runner drives.
pub trait Consumer: Send + Sync {
    /// Its name, the events it wants, and how it is tried again.
    fn settings(&self) -> &Settings;
    /// Its name.
    fn name(&self) -> &str {
        &self.settings().name
    }
    /// Which events it wants.
    fn filter(&self) -> &Filter {
        &self.settings().filter
    }
    /// Tries of an event before it is parked.
    fn tries(&self) -> u32 {
        self.settings().tries
    }
    /// The wait after a first failed try.
    fn first_wait(&self) -> Duration {
        self.settings().first_wait
    }
    /// Handles one event of `tenant`; the commands it issues, ready to push.
    fn handle(
        &self,
        tenant: &str,
        event: &EventRow,
        store: &Arc<dyn Store>,
    ) -> BoxFuture<'static, Result<Vec<CommandRequest>, HandlerError>>;
}

/// The id of the `index`th command that consumer `name` issued for event `event`: the same
/// each time the event is delivered.
pub fn command_id(name: &str, event: Uuid, index: usize) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("annals reaction {name} {event} {index}").as_bytes())
}

impl<D: Domain + Send + Sync> Consumer for Reaction<D> {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn handle(
        &self,
        tenant: &str,
        event: &EventRow,
        store: &Arc<dyn Store>,
    ) -> BoxFuture<'static, Result<Vec<CommandRequest>, HandlerError>> {
        let envelope = match decode_row::<D>(event) {
            Ok(envelope) => envelope,
            Err(err) => return Box::pin(async move { Err(err.into()) }),
        };
        let delivery = Delivery {
            tenant: tenant.to_owned(),
            position: event.position,
            event_type: event.event_type.clone(),
            envelope,
            store: store.clone(),
            states: self.states.clone(),
        };
        let (name, id) = (self.settings.name.clone(), event.id);
        let meta = &delivery.envelope.meta;
        let attached = Attached {
            correlation: meta.correlation.or(Some(meta.command)),
            causation: Some(id),
            fields: None,
        };
        let requests = move |commands: Vec<D::Command>| -> Vec<CommandRequest> {
            commands
                .iter()
                .enumerate()
                .map(|(index, command)| CommandRequest {
                    id: command_id(&name, id, index),
                    command_type: command.command_type().to_owned(),
                    data: command.data(),
                    expected: None,
                    meta: Some(attached.clone()),
                })
                .collect()
        };
        match &self.handler {
            Handler::Sync(handler) => {
                let requests = handler(&delivery).map(requests);
                Box::pin(std::future::ready(requests))
            }
            Handler::Async(handler) => {
                let handled = handler(delivery);
                Box::pin(async move { handled.await.map(requests) })
            }
        }
    }
}

/// A consumer's name is safe in paths and metrics: 1 to 64 letters, digits, `-` or `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
