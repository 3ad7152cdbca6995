//! The inventory's decider: the rules for each command, and the fold of its events.

use annals_core::Uuid;

use super::commands::*;
use super::events::*;
use super::views::{Activity, History, LowStock, Stock};

use annals_core::{Change, Domain, Rejection, SmallMap, stream_name};
use annals_core::{DynView, Table};

/// The inventory domain. Its streams are `item-<uuid>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inventory;

/// An item's decided state (`None` in [`Inventory`]'s `State` until it is added).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    /// Its name.
    pub name: String,
    /// What one unit is.
    pub unit: String,
    /// Below this total the item is low on stock.
    pub reorder_level: i64,
    /// Units held per site.
    pub stock: SmallMap<i64>,
    /// Whether it was retired.
    pub retired: bool,
}

annals_core::json_struct!(Item { name, unit, reorder_level, stock, retired });

impl Item {
    /// Units held at `site`.
    pub fn at(&self, site: &str) -> i64 {
        self.stock.get(site).copied().unwrap_or(0)
    }
}

impl Domain for Inventory {
    const NAME: &'static str = "inventory";
    const CATEGORY: &'static str = "item";
    const STATE_VERSION: u32 = 1;

    type Command = InventoryCommand;
    type Event = InventoryEvent;
    type State = Option<Item>;

    fn streams(command: &InventoryCommand) -> Vec<String> {
        vec![stream_name(Self::CATEGORY, item_of(command))]
    }

    fn decide(
        command: &InventoryCommand,
        states: &[&Option<Item>],
    ) -> Result<Vec<Change<InventoryEvent>>, Rejection> {
        let stream = stream_name(Self::CATEGORY, item_of(command));
        let state = states.first().copied().and_then(Option::as_ref);
        let event = match command {
            InventoryCommand::AddItem(c) => {
                if state.is_some() {
                    return Err(Rejection::new(
                        "item_exists",
                        format!("Item {} already exists.", c.item),
                    ));
                }
                InventoryEvent::ItemAdded(ItemAdded {
                    name: text(&c.name, 100, "invalid_name", "An item's name")?,
                    unit: text(&c.unit, 20, "invalid_unit", "A unit")?,
                    reorder_level: at_least(0, c.reorder_level, "A reorder level")?,
                })
            }
            InventoryCommand::RenameItem(c) => {
                active(state, &c.item)?;
                let name = text(&c.name, 100, "invalid_name", "An item's name")?;
                InventoryEvent::ItemRenamed(ItemRenamed { name })
            }
            InventoryCommand::ReceiveStock(c) => {
                let item = active(state, &c.item)?;
                let site = site(&c.site)?;
                let qty = at_least(1, c.qty, "A quantity")?;
                fits(item, qty)?;
                InventoryEvent::StockReceived(StockReceived {
                    site,
                    qty,
                    note: c
                        .note
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(String::from),
                })
            }
            InventoryCommand::ConsumeStock(c) => {
                let item = active(state, &c.item)?;
                let site = site(&c.site)?;
                let qty = at_least(1, c.qty, "A quantity")?;
                let held = item.at(&site);
                if held < qty {
                    return Err(Rejection::new(
                        "insufficient_stock",
                        format!(
                            "Only {held} {} of {} left at {site}; cannot use {qty}.",
                            item.unit, item.name
                        ),
                    ));
                }
                InventoryEvent::StockConsumed(StockConsumed { site, qty })
            }
            InventoryCommand::CountStock(c) => {
                let item = active(state, &c.item)?;
                let site = site(&c.site)?;
                let counted = at_least(0, c.counted, "A count")?;
                let delta = counted - item.at(&site);
                fits(item, delta)?;
                InventoryEvent::StockCounted(StockCounted { site, counted, delta })
            }
            InventoryCommand::RetireItem(c) => {
                active(state, &c.item)?;
                InventoryEvent::ItemRetired(ItemRetired {})
            }
        };
        Ok(vec![(stream, event)])
    }

    fn evolve(state: &mut Option<Item>, event: &InventoryEvent) {
        if let InventoryEvent::ItemAdded(e) = event {
            *state = Some(Item {
                name: e.name.clone(),
                unit: e.unit.clone(),
                reorder_level: e.reorder_level,
                ..Item::default()
            });
            return;
        }
        let Some(item) = state else { return };
        match event {
            InventoryEvent::ItemAdded(_) => {}
            InventoryEvent::ItemRenamed(e) => item.name = e.name.clone(),
            InventoryEvent::StockReceived(e) => *item.stock.entry(&e.site) += e.qty,
            InventoryEvent::StockConsumed(e) => *item.stock.entry(&e.site) -= e.qty,
            InventoryEvent::StockCounted(e) => {
                item.stock.insert(e.site.clone(), e.counted);
            }
            InventoryEvent::ItemRetired(_) => item.retired = true,
        }
    }

    fn compensate(
        command: &InventoryCommand,
        before: &[&Option<Item>],
    ) -> Option<InventoryCommand> {
        let before = before.first().copied().and_then(Option::as_ref);
        Some(match command {
            InventoryCommand::AddItem(c) => {
                InventoryCommand::RetireItem(RetireItem { item: c.item })
            }
            InventoryCommand::RenameItem(c) => InventoryCommand::RenameItem(RenameItem {
                item: c.item,
                name: before?.name.clone(),
            }),
            InventoryCommand::ReceiveStock(c) => InventoryCommand::ConsumeStock(ConsumeStock {
                item: c.item,
                site: c.site.trim().to_owned(),
                qty: c.qty,
            }),
            InventoryCommand::ConsumeStock(c) => InventoryCommand::ReceiveStock(ReceiveStock {
                item: c.item,
                site: c.site.trim().to_owned(),
                qty: c.qty,
                note: None,
            }),
            InventoryCommand::CountStock(c) => InventoryCommand::CountStock(CountStock {
                item: c.item,
                site: c.site.trim().to_owned(),
                counted: before?.at(c.site.trim()),
            }),
            InventoryCommand::RetireItem(_) => return None,
        })
    }

    fn views() -> Vec<Box<dyn DynView<Self>>> {
        vec![
            Table::<Self, Stock>::boxed(),
            Table::<Self, LowStock>::boxed(),
            Table::<Self, Activity>::boxed(),
            Table::<Self, History>::boxed(),
        ]
    }
}

fn item_of(command: &InventoryCommand) -> &Uuid {
    match command {
        InventoryCommand::AddItem(c) => &c.item,
        InventoryCommand::RenameItem(c) => &c.item,
        InventoryCommand::ReceiveStock(c) => &c.item,
        InventoryCommand::ConsumeStock(c) => &c.item,
        InventoryCommand::CountStock(c) => &c.item,
        InventoryCommand::RetireItem(c) => &c.item,
    }
}

/// The item, if it exists and is not retired.
fn active<'a>(state: Option<&'a Item>, id: &Uuid) -> Result<&'a Item, Rejection> {
    match state {
        None => Err(Rejection::new("unknown_item", format!("There is no item {id}."))),
        Some(item) if item.retired => {
            Err(Rejection::new("item_retired", format!("{} was retired.", item.name)))
        }
        Some(item) => Ok(item),
    }
}

fn site(site: &str) -> Result<String, Rejection> {
    text(site, 40, "invalid_site", "A site's name")
}

/// Rejects a change of `delta` units that would take the item's total past what an i64 holds;
/// every site holds 0 or more, so each site's quantity then fits as well.
fn fits(item: &Item, delta: i64) -> Result<(), Rejection> {
    let total = item.stock.values().try_fold(0_i64, |total, qty| total.checked_add(*qty));
    if total.and_then(|total| total.checked_add(delta)).is_none() {
        return Err(Rejection::new(
            "invalid_quantity",
            format!("{} cannot hold {delta} more {}.", item.name, item.unit),
        ));
    }
    Ok(())
}

fn at_least(min: i64, value: i64, what: &str) -> Result<i64, Rejection> {
    if value < min {
        return Err(Rejection::new(
            "invalid_quantity",
            format!("{what} must be at least {min}, not {value}."),
        ));
    }
    Ok(value)
}

/// Trimmed text of 1 to `max` characters, or a rejection with `code`.
fn text(value: &str, max: usize, code: &str, what: &str) -> Result<String, Rejection> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(Rejection::new(
            code,
            format!("{what} must be 1 to {max} characters, not {length}."),
        ));
    }
    Ok(value.to_owned())
}
