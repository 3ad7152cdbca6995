//! The inventory's read models: `stock`, `low_stock`, `activity`, `history` and `reorders`.

use std::collections::VecDeque;

use super::events::InventoryEvent;
use super::rules::Inventory;
use annals_core::{Envelope, Json, Position, Projection, SmallMap, Version, id_of};

/// Per item: name, unit, reorder level, quantity per site, total, retired. Keyed by item id.
pub struct Stock;

/// One item in `stock`.
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct StockRow {
    /// The item's name.
    pub name: String,
    /// What one unit is.
    pub unit: String,
    /// Below this total the item is low on stock.
    pub reorder_level: i64,
    /// Units per site.
    pub sites: SmallMap<i64>,
    /// Units over all sites.
    pub total: i64,
    /// Whether the item was retired.
    pub retired: bool,
}

impl StockRow {
    /// Whether the item is active and its total is below its reorder level.
    pub fn is_low(&self) -> bool {
        !self.retired && self.total < self.reorder_level
    }

    fn apply(row: &mut Option<StockRow>, event: &InventoryEvent) {
        let row = row.get_or_insert_with(StockRow::default);
        match event {
            InventoryEvent::ItemAdded(e) => {
                row.name = e.name.clone();
                row.unit = e.unit.clone();
                row.reorder_level = e.reorder_level;
            }
            InventoryEvent::ItemRenamed(e) => row.name = e.name.clone(),
            InventoryEvent::StockReceived(e) => row.add(&e.site, e.qty),
            InventoryEvent::StockConsumed(e) => row.add(&e.site, e.qty.saturating_neg()),
            InventoryEvent::StockCounted(e) => row.add(&e.site, e.delta),
            InventoryEvent::ItemRetired(_) => row.retired = true,
            InventoryEvent::ReorderRequested(_) => {}
        }
    }

    fn add(&mut self, site: &str, delta: i64) {
        match self.sites.get_mut(site) {
            Some(qty) => *qty = qty.saturating_add(delta),
            None => {
                self.sites.insert(site.to_owned(), delta);
            }
        }
        self.total = self.total.saturating_add(delta);
    }
}

fn item_key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
    Some(id_of(&envelope.stream).to_owned())
}

/// The item's row in `stock` and `low_stock`, for every event but a reorder request, which
/// changes nothing there.
fn stock_key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
    match envelope.event {
        InventoryEvent::ReorderRequested(_) => None,
        _ => item_key(envelope),
    }
}

impl Projection<Inventory> for Stock {
    const NAME: &'static str = "stock";
    const VERSION: u32 = 1;
    type Row = StockRow;

    fn key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
        stock_key(envelope)
    }

    fn apply(row: &mut Option<StockRow>, envelope: &Envelope<InventoryEvent>) {
        StockRow::apply(row, &envelope.event);
    }
}

/// The active items whose total is below their reorder level. Keyed by item id.
pub struct LowStock;

impl Projection<Inventory> for LowStock {
    const NAME: &'static str = "low_stock";
    const VERSION: u32 = 1;
    type Row = StockRow;

    fn key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
        stock_key(envelope)
    }

    fn apply(row: &mut Option<StockRow>, envelope: &Envelope<InventoryEvent>) {
        StockRow::apply(row, &envelope.event);
    }

    fn listed(row: &StockRow) -> bool {
        row.is_low()
    }
}

/// The last [`ACTIVITY_LENGTH`] events, newest first. One value, not keyed.
pub struct Activity;

/// How many events `activity` keeps.
pub const ACTIVITY_LENGTH: usize = 200;

/// One event in `activity`.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ActivityEntry {
    /// Its global position (absent while pending).
    pub position: Option<Position>,
    /// The item's id.
    pub item: String,
    /// The item stream's version after the event.
    pub version: Version,
    /// The event.
    pub event: InventoryEvent,
    /// Who sent the command.
    pub actor: String,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

impl Projection<Inventory> for Activity {
    const NAME: &'static str = "activity";
    const VERSION: u32 = 1;
    const SINGLE: bool = true;
    type Row = VecDeque<ActivityEntry>;

    fn key(_: &Envelope<InventoryEvent>) -> Option<String> {
        Some(String::new())
    }

    fn apply(row: &mut Option<Self::Row>, envelope: &Envelope<InventoryEvent>) {
        let entries = row.get_or_insert_with(VecDeque::new);
        entries.push_front(ActivityEntry {
            position: envelope.position,
            item: id_of(&envelope.stream).to_owned(),
            version: envelope.version,
            event: envelope.event.clone(),
            actor: envelope.meta.actor.clone(),
            at: envelope.meta.at,
        });
        entries.truncate(ACTIVITY_LENGTH);
    }
}

/// Per item and site, `[position, qty]` points after each change, for a stock chart. Keyed by
/// item id; each site keeps its last [`HISTORY_POINTS`] points. Pending points have no
/// position (`null`).
pub struct History;

/// How many points `history` keeps per item and site.
pub const HISTORY_POINTS: usize = 500;

impl Projection<Inventory> for History {
    const NAME: &'static str = "history";
    const VERSION: u32 = 1;
    type Row = SmallMap<VecDeque<(Option<Position>, i64)>>;

    fn key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
        match envelope.event {
            InventoryEvent::StockReceived(_)
            | InventoryEvent::StockConsumed(_)
            | InventoryEvent::StockCounted(_) => item_key(envelope),
            _ => None,
        }
    }

    fn apply(row: &mut Option<Self::Row>, envelope: &Envelope<InventoryEvent>) {
        let (site, change) = match &envelope.event {
            InventoryEvent::StockReceived(e) => (&e.site, Change::By(e.qty)),
            InventoryEvent::StockConsumed(e) => (&e.site, Change::By(e.qty.saturating_neg())),
            InventoryEvent::StockCounted(e) => (&e.site, Change::To(e.counted)),
            _ => return,
        };
        let sites = row.get_or_insert_with(SmallMap::new);
        let points = sites.entry(site);
        let last = points.back().map_or(0, |(_, qty)| *qty);
        let qty = match change {
            Change::By(delta) => last.saturating_add(delta),
            Change::To(qty) => qty,
        };
        points.push_back((envelope.position, qty));
        if points.len() > HISTORY_POINTS {
            points.pop_front();
        }
    }
}

enum Change {
    By(i64),
    To(i64),
}

/// The reorder requests per item and site, listed while open: while the site holds less than
/// the item's reorder level. A refill closes a request; a later request opens it again. Keyed
/// `<item id>/<site>`.
pub struct Reorders;

/// The last reorder request for one item at one site, in `reorders`.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ReorderRow {
    /// The item's id.
    pub item: String,
    /// The site.
    pub site: String,
    /// Units the site holds: what it held when asked, then moved by the stock recorded since.
    pub held: i64,
    /// The item's reorder level when asked.
    pub reorder_level: i64,
    /// The request's global position (absent while pending).
    pub requested: Option<Position>,
}

impl ReorderRow {
    /// Whether the request is open: the site still holds less than the reorder level.
    pub fn is_open(&self) -> bool {
        self.held < self.reorder_level
    }
}

impl Projection<Inventory> for Reorders {
    const NAME: &'static str = "reorders";
    const VERSION: u32 = 1;
    type Row = ReorderRow;

    fn key(envelope: &Envelope<InventoryEvent>) -> Option<String> {
        let site = match &envelope.event {
            InventoryEvent::ReorderRequested(e) => &e.site,
            InventoryEvent::StockReceived(e) => &e.site,
            InventoryEvent::StockConsumed(e) => &e.site,
            InventoryEvent::StockCounted(e) => &e.site,
            _ => return None,
        };
        Some(format!("{}/{site}", id_of(&envelope.stream)))
    }

    /// A request puts the row anew; stock moved at a site with a request moves its `held`,
    /// and at a site without one makes no row.
    fn apply(row: &mut Option<ReorderRow>, envelope: &Envelope<InventoryEvent>) {
        if let InventoryEvent::ReorderRequested(e) = &envelope.event {
            *row = Some(ReorderRow {
                item: id_of(&envelope.stream).to_owned(),
                site: e.site.clone(),
                held: e.held,
                reorder_level: e.reorder_level,
                requested: envelope.position,
            });
            return;
        }
        let Some(row) = row else { return };
        match &envelope.event {
            InventoryEvent::StockReceived(e) => row.held = row.held.saturating_add(e.qty),
            InventoryEvent::StockConsumed(e) => row.held = row.held.saturating_sub(e.qty),
            InventoryEvent::StockCounted(e) => row.held = e.counted,
            _ => {}
        }
    }

    fn listed(row: &ReorderRow) -> bool {
        row.is_open()
    }
}
