//! The domain a server hosts, with its types erased so the HTTP layer can stay generic.

use std::marker::PhantomData;
use std::sync::Arc;

use annals_core::json::{self, RawJson};
use annals_core::protocol::CommandRequest;
use annals_core::{
    CommandData, DecodeError, Domain, EventData, Meta, StreamState, Version, ViewSet,
};

use annals_core::typescript::{self, Declarations, Ty, TypeScript};
use serde_json::Value;

use crate::engine::decode_rows;
#[cfg(feature = "postgres")]
use crate::store::postgres::PostgresStore;
#[cfg(feature = "sqlite")]
use crate::store::sqlite::{self, SqliteStore};
use crate::store::{BoxFuture, EventRow, Store, StoreError, StoredStream};

/// One domain of annals-core, as the server needs it.
pub trait Hosted: Send + Sync {
    /// The domain's name (`inventory`, `bank`).
    fn name(&self) -> &'static str;
    /// Its stream category (`item`, `account`).
    fn category(&self) -> &'static str;
    /// Checks that a command decodes into one of the domain's command types.
    fn check_command(&self, command: &CommandRequest) -> Result<(), DecodeError>;
    /// The domain's views.
    fn views(&self) -> Vec<ViewInfo>;
    /// Whether a stored state was folded by this code's reducer.
    fn current_state_is_stored(&self, stored: &StoredStream) -> bool;
    /// A stream's state as JSON: the stored one when it is current, else folded from `events`.
    fn current_state(
        &self,
        stored: &StoredStream,
        events: &[EventRow],
    ) -> Result<RawJson, StoreError>;
    /// The state after the first `version` of `events` (time travel), as JSON.
    fn state_at(&self, events: &[EventRow], version: Version) -> Result<RawJson, StoreError>;
    /// Opens the store a database URL names (`sqlite://PATH` or `postgres://...`), whose
    /// writer decides this domain's commands.
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Arc<dyn Store>, StoreError>>;
    /// The domain's wire types as JSON Schema, generated from its Rust types, none of their
    /// names one of `reserved`.
    fn schemas(&self, reserved: &[&str]) -> DomainSchemas;
    /// The current schema of one of the domain's event types.
    fn event_schema(&self, event_type: &str) -> Option<u32>;
}

/// A domain's wire types as JSON Schema (see `annals_core::typescript`), for the OpenAPI
/// document. Named types are `$ref`s into `components`.
pub struct DomainSchemas {
    /// The union of its commands, `{ type, data }` each.
    pub command: Value,
    /// The union of its events, `{ type, data }` each.
    pub event: Value,
    /// One stream's decided state.
    pub state: Value,
    /// Each view: its name, whether it is one value, its whole value and one row.
    pub views: Vec<(&'static str, bool, Value, Value)>,
    /// Its rejection codes.
    pub codes: Value,
    /// An event's meta.
    pub meta: Value,
    /// The named types, by name.
    pub components: Vec<(String, Value)>,
}

/// A view's name, reducer version and shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewInfo {
    /// Its name.
    pub name: &'static str,
    /// Its reducer version.
    pub version: u32,
    /// Whether it is one value rather than keyed rows.
    pub single: bool,
}

/// [`Hosted`] for a domain type.
pub struct Host<D>(PhantomData<D>);

impl<D> Default for Host<D> {
    fn default() -> Self {
        Host(PhantomData)
    }
}

/// The database URLs this build opens (its cargo features `sqlite` and `postgres`).
const SUPPORTED: &str = match (cfg!(feature = "sqlite"), cfg!(feature = "postgres")) {
    (true, true) => "sqlite://PATH or postgres://...",
    (true, false) => "sqlite://PATH only (without the postgres feature)",
    (false, true) => "postgres://... only (without the sqlite feature)",
    (false, false) => "no database: enable the sqlite or postgres feature",
};

/// The domain `D`, hosted.
pub fn host<D: Domain + Send + Sync>() -> Arc<dyn Hosted> {
    Arc::new(Host::<D>::default())
}

impl<D: Domain + Send + Sync> Hosted for Host<D> {
    fn name(&self) -> &'static str {
        D::NAME
    }

    fn event_schema(&self, event_type: &str) -> Option<u32> {
        D::Event::schema_of(event_type)
    }

    fn schemas(&self, reserved: &[&str]) -> DomainSchemas {
        let mut types = Declarations::default();
        types.reserve(reserved);
        let command = schema(D::Command::typescript(&mut types));
        let event = schema(D::Event::typescript(&mut types));
        let state = schema(D::State::typescript(&mut types));
        let views = typescript::view_types::<D>(&mut types)
            .into_iter()
            .map(|view| (view.name, view.single, schema(view.all), schema(view.row)))
            .collect();
        let codes = schema(typescript::rejection_codes::<D>());
        let meta = schema(Meta::typescript(&mut types));
        let components = types
            .schemas()
            .into_iter()
            .map(|(name, text)| (name.to_owned(), parse(text)))
            .collect();
        DomainSchemas { command, event, state, views, codes, meta, components }
    }

    fn category(&self) -> &'static str {
        D::CATEGORY
    }

    fn check_command(&self, command: &CommandRequest) -> Result<(), DecodeError> {
        D::Command::decode(&command.command_type, &command.data).map(drop)
    }

    fn views(&self) -> Vec<ViewInfo> {
        let views = ViewSet::<D>::default();
        let names = views.names();
        names
            .into_iter()
            .map(|(name, version)| ViewInfo {
                name,
                version,
                single: views.view(name).is_some_and(|v| v.is_single()),
            })
            .collect()
    }

    fn current_state_is_stored(&self, stored: &StoredStream) -> bool {
        stored.state_version == D::STATE_VERSION
    }

    fn current_state(
        &self,
        stored: &StoredStream,
        events: &[EventRow],
    ) -> Result<RawJson, StoreError> {
        if stored.state_version == D::STATE_VERSION {
            return Ok(RawJson::new(stored.state.as_str())?);
        }
        self.state_at(events, stored.version)
    }

    fn state_at(&self, events: &[EventRow], version: Version) -> Result<RawJson, StoreError> {
        let events = decode_rows::<D>(events)?;
        Ok(json::to_raw(&StreamState::<D>::at(&events, version).state))
    }

    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Arc<dyn Store>, StoreError>> {
        Box::pin(async move {
            #[cfg(feature = "sqlite")]
            if let Some(path) = sqlite::path_of(url) {
                return Ok(SqliteStore::open::<D>(path)? as Arc<dyn Store>);
            }
            #[cfg(feature = "postgres")]
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                return Ok(PostgresStore::open::<D>(url).await? as Arc<dyn Store>);
            }
            Err(StoreError::failed(format!(
                "unsupported database URL {url:?}: this server was built for {}",
                SUPPORTED
            )))
        })
    }
}

/// A type's JSON Schema as a value.
fn schema(ty: Ty) -> Value {
    parse(&ty.schema)
}

/// JSON Schema text that annals-core wrote (always JSON: `annals_core::typescript` tests it).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("a schema is not JSON ({err}): {text}"))
}
