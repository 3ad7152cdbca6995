//! Read models: named, versioned projections of the global log into keyed rows.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use crate::domain::Domain;
use crate::envelope::{Envelope, Position};
use crate::json::{self, FromJson, RawJson, ToJson, Writer};
use crate::typescript::TypeScript;
#[cfg(not(target_arch = "wasm32"))]
use crate::typescript::{Declarations, Ty};

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
    type Row: Clone + fmt::Debug + PartialEq + ToJson + FromJson + TypeScript + 'static;

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
///
/// Every table keeps its rows in the same map type, with the row's type erased: one copy of
/// the map's code serves every view, which keeps the WebAssembly module small.
pub struct Table<D: Domain, P: Projection<D>> {
    rows: BTreeMap<String, Slot>,
    /// Keys whose rows were removed since the last `take_changes`.
    removed: Vec<String>,
    marker: std::marker::PhantomData<fn() -> (D, P)>,
}

/// One row of a table: an `Option<P::Row>` (always `Some` while it is in the table), and
/// whether it changed since the last `take_changes`.
struct Slot {
    row: Box<dyn AnyRow>,
    changed: bool,
}

trait AnyRow: Any {
    fn clone_row(&self) -> Box<dyn AnyRow>;
    fn row_any(&self) -> &dyn Any;
    fn row_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone> AnyRow for T {
    fn clone_row(&self) -> Box<dyn AnyRow> {
        Box::new(self.clone())
    }

    fn row_any(&self) -> &dyn Any {
        self
    }

    fn row_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Slot { row: (*self.row).clone_row(), changed: self.changed }
    }
}

impl<D: Domain, P: Projection<D>> Default for Table<D, P> {
    fn default() -> Self {
        Table { rows: BTreeMap::new(), removed: Vec::new(), marker: std::marker::PhantomData }
    }
}

impl<D: Domain, P: Projection<D>> Clone for Table<D, P> {
    fn clone(&self) -> Self {
        Table { rows: self.rows.clone(), removed: self.removed.clone(), marker: self.marker }
    }
}

impl<D: Domain, P: Projection<D>> Table<D, P> {
    /// A boxed empty table, for [`Domain::views`].
    pub fn boxed() -> Box<dyn DynView<D>> {
        Box::new(Self::default())
    }

    /// The row under `key`, typed, whether or not it is listed.
    pub fn row(&self, key: &str) -> Option<&P::Row> {
        self.rows.get(key).and_then(Self::typed)
    }

    /// The listed rows with their keys, in key order: what the view shows.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &P::Row)> {
        self.typed_rows().filter(|(_, row)| P::listed(row)).map(|(key, row)| (key.as_str(), row))
    }

    /// The single row of a view that is one value (`Projection::SINGLE`).
    pub fn single(&self) -> Option<&P::Row> {
        self.row("")
    }

    fn typed(slot: &Slot) -> Option<&P::Row> {
        (*slot.row).row_any().downcast_ref::<Option<P::Row>>().and_then(Option::as_ref)
    }

    fn typed_rows(&self) -> impl Iterator<Item = (&String, &P::Row)> {
        self.rows.iter().filter_map(|(key, slot)| Some((key, Self::typed(slot)?)))
    }

    /// Puts a row under `key`: a change when folded, not when loaded from storage.
    fn insert(&mut self, key: String, row: P::Row, changed: bool) {
        if !self.removed.is_empty() {
            self.removed.retain(|removed| *removed != key);
        }
        self.rows.insert(key, Slot { row: Box::new(Some(row)), changed });
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
    fn value(&self) -> RawJson;
    /// One row by key, if it exists and is listed.
    fn get(&self, key: &str) -> Option<RawJson>;
    /// The rows changed since the last call: `(key, Some(row))` or `(key, None)` if removed.
    fn take_changes(&mut self) -> Vec<(String, Option<RawJson>)>;
    /// Loads a stored row from its JSON text; a loaded row is not a change.
    fn load(&mut self, key: &str, row: &str) -> Result<(), json::Error>;
    /// Every stored row, listed or not, for saving.
    fn rows(&self) -> Vec<(String, RawJson)>;
    /// A copy.
    fn boxed_clone(&self) -> Box<dyn DynView<D>>;
    /// The table itself, to reach its rows typed (see [`ViewSet::table`]).
    fn as_any(&self) -> &dyn Any;
    /// The TypeScript type of one row, [`Projection::Row`]'s, for
    /// [`typescript::declarations`](crate::typescript::declarations).
    ///
    /// Not in WebAssembly builds: the declarations are made natively, and a method of this
    /// trait puts its code in every module that has views.
    #[cfg(not(target_arch = "wasm32"))]
    fn row_typescript(&self, types: &mut Declarations) -> Ty;
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
        self.row(key).is_some_and(P::listed)
    }

    fn is_single(&self) -> bool {
        P::SINGLE
    }

    fn apply(&mut self, envelope: &Envelope<D::Event>) {
        let Some(key) = P::key(envelope) else { return };
        let Some(slot) = self.rows.get_mut(&key) else {
            let mut row = None;
            P::apply(&mut row, envelope);
            if let Some(row) = row {
                self.insert(key, row, true);
            }
            return;
        };
        slot.changed = true;
        let Some(row) = (*slot.row).row_any_mut().downcast_mut::<Option<P::Row>>() else { return };
        P::apply(row, envelope);
        if row.is_none() {
            self.rows.remove(&key);
            self.removed.push(key);
        }
    }

    fn value(&self) -> RawJson {
        if P::SINGLE {
            return self.row("").map_or_else(RawJson::null, json::to_raw);
        }
        let mut w = Writer::default();
        w.begin_object();
        for (key, row) in self.typed_rows().filter(|(_, row)| P::listed(row)) {
            w.field(key, row);
        }
        w.end_object();
        RawJson::trusted(w.finish())
    }

    fn get(&self, key: &str) -> Option<RawJson> {
        if P::SINGLE {
            return None;
        }
        self.row(key).filter(|row| P::listed(row)).map(json::to_raw)
    }

    fn take_changes(&mut self) -> Vec<(String, Option<RawJson>)> {
        let mut changes: Vec<(String, Option<RawJson>)> =
            self.removed.drain(..).map(|key| (key, None)).collect();
        for (key, slot) in &mut self.rows {
            if std::mem::take(&mut slot.changed) {
                let row = Self::typed(slot).map(json::to_raw);
                changes.push((key.clone(), row));
            }
        }
        changes
    }

    fn load(&mut self, key: &str, row: &str) -> Result<(), json::Error> {
        self.insert(key.to_owned(), json::from_str(row)?, false);
        Ok(())
    }

    fn rows(&self) -> Vec<(String, RawJson)> {
        self.typed_rows().map(|(key, row)| (key.clone(), json::to_raw(row))).collect()
    }

    fn boxed_clone(&self) -> Box<dyn DynView<D>> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn row_typescript(&self, types: &mut Declarations) -> Ty {
        P::Row::typescript(types)
    }
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

fn same_rows(a: &[(String, RawJson)], b: &[(String, RawJson)]) -> bool {
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

    /// The table of projection `P`, with its rows typed.
    ///
    /// ```
    /// # use annals_core::{Domain, Projection, ViewSet};
    /// # fn demo<D: Domain, Stock: Projection<D>>(views: &ViewSet<D>) {
    /// if let Some(stock) = views.table::<Stock>() {
    ///     for (item, row) in stock.rows() { /* row: &Stock::Row */ }
    /// }
    /// # }
    /// ```
    pub fn table<P: Projection<D>>(&self) -> Option<&Table<D, P>> {
        self.views.iter().find_map(|view| view.as_any().downcast_ref::<Table<D, P>>())
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
