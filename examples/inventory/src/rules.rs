//! The inventory's decider: the rules for each command, and the fold of its events.

use annals_core::Uuid;

use super::commands::*;
use super::events::*;
use super::views::{Activity, History, LowStock, Reorders, Stock};

use annals_core::{
    Change, Context, Domain, DynView, Json, Rejection, SmallMap, Table, stream_name,
};

/// The inventory domain. Its streams are `item-<uuid>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inventory;

/// An item's decided state (`None` in [`Inventory`]'s `State` until it is added).
#[derive(Clone, Debug, Default, PartialEq, Json)]
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

impl Item {
    /// Units held at `site`.
    pub fn at(&self, site: &str) -> i64 {
        self.stock.get(site).copied().unwrap_or(0)
    }
}

/// Why an inventory command is refused.
#[derive(Clone, Debug, PartialEq, Rejection)]
pub enum InventoryRejection {
    /// The item was added before.
    #[rejection("Item {0} already exists.")]
    ItemExists(Uuid),
    /// No item has this id.
    #[rejection("There is no item {0}.")]
    UnknownItem(Uuid),
    /// The item was retired.
    #[rejection("{0} was retired.")]
    ItemRetired(String),
    /// A name that is empty or too long once trimmed.
    #[rejection("An item's name must be 1 to 100 characters, not {0}.")]
    InvalidName(usize),
    /// A unit that is empty or too long once trimmed.
    #[rejection("A unit must be 1 to 20 characters, not {0}.")]
    InvalidUnit(usize),
    /// A site's name that is empty or too long once trimmed.
    #[rejection("A site's name must be 1 to 40 characters, not {0}.")]
    InvalidSite(usize),
    /// A quantity, count or reorder level below what the command allows.
    #[rejection(code = "invalid_quantity", "{what} must be at least {min}, not {value}.")]
    TooSmall {
        /// What the number is.
        what: &'static str,
        /// The least allowed.
        min: i64,
        /// What was given.
        value: i64,
    },
    /// A change the item's total could not hold.
    #[rejection(code = "invalid_quantity", "{name} cannot hold {delta} more {unit}.")]
    TooLarge {
        /// The item's name.
        name: String,
        /// The change.
        delta: i64,
        /// Its unit.
        unit: String,
    },
    /// A rename on the condition that the item is called something it is no longer called.
    #[rejection("The item is called {name} now, not {from}.")]
    NameChanged {
        /// Its name now.
        name: String,
        /// The name the command expected.
        from: String,
    },
    /// A count on the condition that the site holds a quantity it no longer holds.
    #[rejection("{site} holds {held} {unit} of {name} now, not {from}.")]
    StockChanged {
        /// The site.
        site: String,
        /// What it holds now.
        held: i64,
        /// The item's unit.
        unit: String,
        /// The item's name.
        name: String,
        /// What the command expected.
        from: i64,
    },
    /// Using more than the site holds.
    #[rejection("Only {held} {unit} of {name} left at {site}; cannot use {qty}.")]
    InsufficientStock {
        /// What the site holds.
        held: i64,
        /// The item's unit.
        unit: String,
        /// The item's name.
        name: String,
        /// The site.
        site: String,
        /// What was asked for.
        qty: i64,
    },
}

use InventoryRejection as No;

impl Domain for Inventory {
    const NAME: &'static str = "inventory";
    const CATEGORY: &'static str = "item";
    const STATE_VERSION: u32 = 1;

    type Command = InventoryCommand;
    type Event = InventoryEvent;
    type State = Option<Item>;
    type Rejection = InventoryRejection;

    fn streams(command: &InventoryCommand) -> Vec<String> {
        vec![stream_name(Self::CATEGORY, item_of(command))]
    }

    fn decide(
        command: &InventoryCommand,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<InventoryEvent>>, InventoryRejection> {
        let stream = context.stream(0);
        let state = stream.state.as_ref();
        let event = match command {
            InventoryCommand::AddItem(c) => {
                if state.is_some() {
                    return Err(No::ItemExists(c.item));
                }
                InventoryEvent::ItemAdded(ItemAdded {
                    name: text(&c.name, 100).map_err(No::InvalidName)?,
                    unit: text(&c.unit, 20).map_err(No::InvalidUnit)?,
                    reorder_level: at_least(0, c.reorder_level, "A reorder level")?,
                })
            }
            InventoryCommand::RenameItem(c) => {
                let item = active(state, &c.item)?;
                let name = text(&c.name, 100).map_err(No::InvalidName)?;
                if let Some(from) = c.from.as_deref().map(str::trim)
                    && from != item.name
                {
                    return Err(No::NameChanged { name: item.name.clone(), from: from.to_owned() });
                }
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
                    return Err(No::InsufficientStock {
                        held,
                        unit: item.unit.clone(),
                        name: item.name.clone(),
                        site,
                        qty,
                    });
                }
                InventoryEvent::StockConsumed(StockConsumed { site, qty })
            }
            InventoryCommand::CountStock(c) => {
                let item = active(state, &c.item)?;
                let site = site(&c.site)?;
                let counted = at_least(0, c.counted, "A count")?;
                let held = item.at(&site);
                if let Some(from) = c.from
                    && from != held
                {
                    let (unit, name) = (item.unit.clone(), item.name.clone());
                    return Err(No::StockChanged { site, held, unit, name, from });
                }
                let delta = counted - held;
                fits(item, delta)?;
                InventoryEvent::StockCounted(StockCounted { site, counted, delta })
            }
            InventoryCommand::RetireItem(c) => {
                active(state, &c.item)?;
                InventoryEvent::ItemRetired(ItemRetired {})
            }
            // Recorded whatever the site holds now: whether a request is open is the view's
            // to say (`reorders`), from the stock that follows it.
            InventoryCommand::RequestReorder(c) => {
                let item = active(state, &c.item)?;
                let site = site(&c.site)?;
                let held = item.at(&site);
                InventoryEvent::ReorderRequested(ReorderRequested {
                    site,
                    held,
                    reorder_level: item.reorder_level,
                })
            }
        };
        Ok(vec![stream.append(event)])
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
            // Saturating: a raw append may carry any quantity, and a fold never fails.
            InventoryEvent::StockReceived(e) => {
                let qty = item.stock.entry(&e.site);
                *qty = qty.saturating_add(e.qty);
            }
            InventoryEvent::StockConsumed(e) => {
                let qty = item.stock.entry(&e.site);
                *qty = qty.saturating_sub(e.qty);
            }
            InventoryEvent::StockCounted(e) => {
                item.stock.insert(e.site.clone(), e.counted);
            }
            InventoryEvent::ItemRetired(_) => item.retired = true,
            InventoryEvent::ReorderRequested(_) => {}
        }
    }

    /// Undo takes back what a command did and nothing else. Receiving and using stock are
    /// undone by the opposite movement, and a count by the difference it made (a count that
    /// changed nothing by the same count on the condition that the site still holds it), so
    /// an undo commutes with what other devices did meanwhile; it is refused rather than
    /// leave a site below zero. A rename is undone on the condition that the item still has
    /// the name it gave (`from`), so an undo never erases another device's rename. An added
    /// item is undone by retiring it, which keeps its history and whatever others recorded
    /// for it; retiring cannot be undone, nor can a reorder request, which is no change of
    /// stock but a request made.
    fn compensate(
        command: &InventoryCommand,
        before: &Context<'_, Self>,
    ) -> Option<InventoryCommand> {
        let before = before.stream(0).state.as_ref();
        Some(match command {
            InventoryCommand::AddItem(c) => {
                InventoryCommand::RetireItem(RetireItem { item: c.item })
            }
            InventoryCommand::RenameItem(c) => InventoryCommand::RenameItem(RenameItem {
                item: c.item,
                name: before?.name.clone(),
                from: Some(c.name.trim().to_owned()),
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
            InventoryCommand::CountStock(c) => {
                let (item, site) = (c.item, c.site.trim().to_owned());
                let delta = c.counted.checked_sub(before?.at(&site))?;
                match delta {
                    0 => InventoryCommand::CountStock(CountStock {
                        item,
                        site,
                        counted: c.counted,
                        from: Some(c.counted),
                    }),
                    1.. => InventoryCommand::ConsumeStock(ConsumeStock { item, site, qty: delta }),
                    _ => InventoryCommand::ReceiveStock(ReceiveStock {
                        item,
                        site,
                        qty: delta.checked_neg()?,
                        note: None,
                    }),
                }
            }
            InventoryCommand::RetireItem(_) | InventoryCommand::RequestReorder(_) => return None,
        })
    }

    fn views() -> Vec<Box<dyn DynView<Self>>> {
        vec![
            Table::<Self, Stock>::boxed(),
            Table::<Self, LowStock>::boxed(),
            Table::<Self, Activity>::boxed(),
            Table::<Self, History>::boxed(),
            Table::<Self, Reorders>::boxed(),
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
        InventoryCommand::RequestReorder(c) => &c.item,
    }
}

/// The item, if it exists and is not retired.
fn active<'a>(state: Option<&'a Item>, id: &Uuid) -> Result<&'a Item, InventoryRejection> {
    match state {
        None => Err(No::UnknownItem(*id)),
        Some(item) if item.retired => Err(No::ItemRetired(item.name.clone())),
        Some(item) => Ok(item),
    }
}

fn site(site: &str) -> Result<String, InventoryRejection> {
    text(site, 40).map_err(No::InvalidSite)
}

/// Rejects a change of `delta` units that would take the item's total past what an i64 holds;
/// every site holds 0 or more, so each site's quantity then fits as well.
fn fits(item: &Item, delta: i64) -> Result<(), InventoryRejection> {
    let total = item.stock.values().try_fold(0_i64, |total, qty| total.checked_add(*qty));
    if total.and_then(|total| total.checked_add(delta)).is_none() {
        return Err(No::TooLarge { name: item.name.clone(), delta, unit: item.unit.clone() });
    }
    Ok(())
}

fn at_least(min: i64, value: i64, what: &'static str) -> Result<i64, InventoryRejection> {
    if value < min {
        return Err(No::TooSmall { what, min, value });
    }
    Ok(value)
}

/// Trimmed text of 1 to `max` characters, or its length in characters.
fn text(value: &str, max: usize) -> Result<String, usize> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(length);
    }
    Ok(value.to_owned())
}
