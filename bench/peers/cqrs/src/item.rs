//! The inventory item as a cqrs-es aggregate: the same rules as annals-core's inventory for
//! the commands the load sends. Business rules live in `handle`; `apply` only folds.

use std::collections::BTreeMap;
use std::fmt;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// An item's state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Item {
    exists: bool,
    retired: bool,
    name: String,
    unit: String,
    reorder_level: i64,
    stock: BTreeMap<String, i64>,
}

/// What a caller asks of an item.
#[derive(Debug, Deserialize)]
pub enum ItemCommand {
    /// Start tracking it.
    AddItem { name: String, unit: String, reorder_level: i64 },
    /// Stock arrived at a site.
    ReceiveStock { site: String, qty: i64 },
    /// Stock was used at a site.
    ConsumeStock { site: String, qty: i64 },
}

/// What happened to an item; stored as `{"<type>": {...}}`, the cqrs-es convention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ItemEvent {
    /// It was added.
    ItemAdded { name: String, unit: String, reorder_level: i64 },
    /// It was renamed.
    ItemRenamed { name: String },
    /// Stock arrived.
    StockReceived {
        site: String,
        qty: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Stock was used.
    StockConsumed { site: String, qty: i64 },
    /// A site was counted.
    StockCounted { site: String, counted: i64, delta: i64 },
    /// It was retired.
    ItemRetired {},
}

impl DomainEvent for ItemEvent {
    fn event_type(&self) -> String {
        let name = match self {
            ItemEvent::ItemAdded { .. } => "ItemAdded",
            ItemEvent::ItemRenamed { .. } => "ItemRenamed",
            ItemEvent::StockReceived { .. } => "StockReceived",
            ItemEvent::StockConsumed { .. } => "StockConsumed",
            ItemEvent::StockCounted { .. } => "StockCounted",
            ItemEvent::ItemRetired {} => "ItemRetired",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A refused command, with annals' rejection code.
#[derive(Debug)]
pub struct ItemError(pub &'static str);

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ItemError {}

impl Aggregate for Item {
    const TYPE: &'static str = "item";
    type Command = ItemCommand;
    type Event = ItemEvent;
    type Error = ItemError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ItemCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ItemError> {
        let event = match command {
            ItemCommand::AddItem { name, unit, reorder_level } => {
                if self.exists {
                    return Err(ItemError("item_exists"));
                }
                ItemEvent::ItemAdded { name, unit, reorder_level }
            }
            ItemCommand::ReceiveStock { site, qty } => {
                self.active()?;
                if qty <= 0 {
                    return Err(ItemError("invalid_quantity"));
                }
                ItemEvent::StockReceived { site, qty, note: None }
            }
            ItemCommand::ConsumeStock { site, qty } => {
                self.active()?;
                if qty <= 0 {
                    return Err(ItemError("invalid_quantity"));
                }
                if self.stock.get(&site).copied().unwrap_or(0) < qty {
                    return Err(ItemError("insufficient_stock"));
                }
                ItemEvent::StockConsumed { site, qty }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ItemEvent) {
        match event {
            ItemEvent::ItemAdded { name, unit, reorder_level } => {
                self.exists = true;
                self.name = name;
                self.unit = unit;
                self.reorder_level = reorder_level;
            }
            ItemEvent::ItemRenamed { name } => self.name = name,
            ItemEvent::StockReceived { site, qty, .. } => {
                *self.stock.entry(site).or_default() += qty
            }
            ItemEvent::StockConsumed { site, qty } => *self.stock.entry(site).or_default() -= qty,
            ItemEvent::StockCounted { site, counted, .. } => {
                self.stock.insert(site, counted);
            }
            ItemEvent::ItemRetired {} => self.retired = true,
        }
    }
}

impl Item {
    fn active(&self) -> Result<(), ItemError> {
        if !self.exists {
            Err(ItemError("unknown_item"))
        } else if self.retired {
            Err(ItemError("item_retired"))
        } else {
            Ok(())
        }
    }
}
