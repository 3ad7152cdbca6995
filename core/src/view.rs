//! Read models: named, versioned projections of the global log into keyed rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::domain::Domain;
use crate::envelope::{Envelope, Position};

/// One read model: a pure fold of envelopes into rows keyed by entity id.
///
/// Each event changes at most one row, named by [`key`](Projection::key); that lets a store
/// load, fold and write back only the rows an append touches.
pub trait Projection<D: Domain>: 'static {
    /// The view's name, e.g. `"stock"`.
    const NAME: &'static str;
    /// The reducer's version: rows stored by another version are rebuilt from the log.
    const VERSION: u32;
    /// Whether the view is one value rather than rows keyed by entity (e.g. `activity`).
    /// A single-row view keeps its value under the key `""`.
    const SINGLE: bool = false;

    /// One row of the view.
    type Row: Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned;

    /// The row `envelope` changes, or `None` when this view ignores it.
    fn key(envelope: &Envelope<D::Event>) -> Option<String>;

    /// Folds `envelope` into its row (`None` when the row does not exist yet; set it to
    /// `None` to remove the row).
    fn apply(row: &mut Option<Self::Row>, envelope: &Envelope<D::Event>);

    /// Whether a row shows in the view's value (e.g. `low_stock` lists only low rows).
    fn listed(_row: &Self::Row) -> bool {
        true
    }
}

/// The rows of one projection, with the keys changed since the last
/// [`take_changes`](DynView::take_changes).
pub struct Table<D: Domain, P: Projection<D>> {
    rows: BTreeMap<String, P::Row>,
    changed: BTreeSet<String>,
}

impl<D: Domain, P: Projection<D>> Default for Table<D, P> {
    fn default() -> Self {
        Table { rows: BTreeMap::new(), changed: BTreeSet::new() }
    }
}

impl<D: Domain, P: Projection<D>> Clone for Table<D, P> {
    fn clone(&self) -> Self {
        Table { rows: self.rows.clone(), changed: self.changed.clone() }
    }
}

impl<D: Domain, P: Projection<D>> Table<D, P> {
    /// A boxed empty table, for [`Domain::views`].
    pub fn boxed() -> Box<dyn DynView<D>> {
        Box::new(Self::default())
    }

    /// The row under `key`, typed.
    pub fn row(&self, key: &str) -> Option<&P::Row> {
        self.rows.get(key)
    }
}

/// A projection's table with its types erased, so a domain's views can sit in one list.
///
/// Rows cross this boundary as JSON text: the server stores them so and the package hands
/// them to JavaScript so, and one serializer for every row keeps the package small.
pub trait DynView<D: Domain> {
    /// [`Projection::NAME`].
    fn name(&self) -> &'static str;
    /// [`Projection::VERSION`].
    fn version(&self) -> u32;
    /// The row `envelope` changes in this view, if any.
    fn key_of(&self, envelope: &Envelope<D::Event>) -> Option<String>;
    /// Folds one envelope.
    fn apply(&mut self, envelope: &Envelope<D::Event>);
    /// Whether the row under `key` exists and shows in the view's value.
    fn is_listed(&self, key: &str) -> bool;
    /// Whether the view is one value rather than keyed rows.
    fn is_single(&self) -> bool;
    /// The whole view: an object of listed rows by key, or the single row (`null` when empty).
    fn value(&self) -> Box<RawValue>;
    /// One row by key, if it exists and is listed.
    fn get(&self, key: &str) -> Option<Box<RawValue>>;
    /// The rows changed since the last call: `(key, Some(row))` or `(key, None)` if removed.
    fn take_changes(&mut self) -> Vec<(String, Option<Box<RawValue>>)>;
    /// Loads a stored row from its JSON text.
    fn load(&mut self, key: &str, row: &str) -> Result<(), serde_json::Error>;
    /// Every stored row, listed or not, for saving.
    fn rows(&self) -> Vec<(String, Box<RawValue>)>;
    /// A copy.
    fn boxed_clone(&self) -> Box<dyn DynView<D>>;
}

impl<D: Domain, P: Projection<D>> DynView<D> for Table<D, P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn version(&self) -> u32 {
        P::VERSION
    }

    fn key_of(&self, envelope: &Envelope<D::Event>) -> Option<String> {
        P::key(envelope)
    }

    fn is_listed(&self, key: &str) -> bool {
        self.rows.get(key).is_some_and(|row| P::listed(row))
    }

    fn is_single(&self) -> bool {
        P::SINGLE
    }

    fn apply(&mut self, envelope: &Envelope<D::Event>) {
        let Some(key) = P::key(envelope) else { return };
        let mut row = self.rows.remove(&key);
        P::apply(&mut row, envelope);
        if let Some(row) = row {
            self.rows.insert(key.clone(), row);
        }
        self.changed.insert(key);
    }

    fn value(&self) -> Box<RawValue> {
        if P::SINGLE {
            return self.rows.get("").map_or_else(|| RawValue::NULL.to_owned(), to_json);
        }
        to_json(&Listed::<D, P>(&self.rows))
    }

    fn get(&self, key: &str) -> Option<Box<RawValue>> {
        if P::SINGLE {
            return None;
        }
        self.rows.get(key).filter(|row| P::listed(row)).map(to_json)
    }

    fn take_changes(&mut self) -> Vec<(String, Option<Box<RawValue>>)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .map(|key| {
                let row = self.rows.get(&key).map(to_json);
                (key, row)
            })
            .collect()
    }

    fn load(&mut self, key: &str, row: &str) -> Result<(), serde_json::Error> {
        self.rows.insert(key.to_owned(), serde_json::from_str(row)?);
        Ok(())
    }

    fn rows(&self) -> Vec<(String, Box<RawValue>)> {
        self.rows.iter().map(|(key, row)| (key.clone(), to_json(row))).collect()
    }

    fn boxed_clone(&self) -> Box<dyn DynView<D>> {
        Box::new(self.clone())
    }
}

/// The listed rows of a table, written as one JSON object by key.
struct Listed<'a, D: Domain, P: Projection<D>>(&'a BTreeMap<String, P::Row>);

impl<D: Domain, P: Projection<D>> Serialize for Listed<'_, D, P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, row) in self.0.iter().filter(|(_, row)| P::listed(row)) {
            map.serialize_entry(key, row)?;
        }
        map.end()
    }
}

fn to_json(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// All read models of a domain, folded up to one global position.
pub struct ViewSet<D: Domain> {
    views: Vec<Box<dyn DynView<D>>>,
    position: Position,
}

impl<D: Domain> Default for ViewSet<D> {
    fn default() -> Self {
        ViewSet { views: D::views(), position: 0 }
    }
}

impl<D: Domain> Clone for ViewSet<D> {
    fn clone(&self) -> Self {
        ViewSet {
            views: self.views.iter().map(|view| view.boxed_clone()).collect(),
            position: self.position,
        }
    }
}

impl<D: Domain> fmt::Debug for ViewSet<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for view in &self.views {
            map.entry(&view.name(), &view.value());
        }
        map.finish()
    }
}

impl<D: Domain> PartialEq for ViewSet<D> {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
            && self.views.len() == other.views.len()
            && self.views.iter().zip(&other.views).all(|(a, b)| same_rows(&a.rows(), &b.rows()))
    }
}

fn same_rows(a: &[(String, Box<RawValue>)], b: &[(String, Box<RawValue>)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.0 == b.0 && a.1.get() == b.1.get())
}

impl<D: Domain> ViewSet<D> {
    /// The views after folding `events` from the start of the log.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Envelope<D::Event>>) -> Self {
        let mut views = Self::default();
        for envelope in events {
            views.apply(envelope);
        }
        views
    }

    /// The views as they were at global `position` (time travel over the log).
    pub fn at<'a>(
        events: impl IntoIterator<Item = &'a Envelope<D::Event>>,
        position: Position,
    ) -> Self {
        Self::fold(events.into_iter().take_while(|e| e.position.is_none_or(|p| p <= position)))
    }

    /// Folds one envelope into every view; a recorded envelope also moves the position.
    pub fn apply(&mut self, envelope: &Envelope<D::Event>) {
        for view in &mut self.views {
            view.apply(envelope);
        }
        if let Some(position) = envelope.position {
            self.position = self.position.max(position);
        }
    }

    /// The global position the views reflect.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Sets the position, e.g. after loading stored rows.
    pub fn set_position(&mut self, position: Position) {
        self.position = position;
    }

    /// One view by name.
    pub fn view(&self, name: &str) -> Option<&dyn DynView<D>> {
        self.views.iter().find(|view| view.name() == name).map(|view| view.as_ref())
    }

    /// One view by name, to load or drain.
    pub fn view_mut(&mut self, name: &str) -> Option<&mut Box<dyn DynView<D>>> {
        self.views.iter_mut().find(|view| view.name() == name)
    }

    /// The names and versions of the views.
    pub fn names(&self) -> Vec<(&'static str, u32)> {
        self.views.iter().map(|view| (view.name(), view.version())).collect()
    }

    /// Every view, mutably (a store drains their changes after an append).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Box<dyn DynView<D>>> {
        self.views.iter_mut()
    }
}
