//! The cafeteria inventory: items with stock per site, received, consumed and counted, and
//! more of them asked for when a site runs low.
//!
//! Stream `item-<uuid>`. Quantities are integers. See [`Inventory`] for the rules.

mod commands;
mod events;
mod rules;
mod views;

pub use commands::{
    AddItem, ConsumeStock, CountStock, InventoryCommand, ReceiveStock, RenameItem, RequestReorder,
    RetireItem,
};
pub use events::{
    InventoryEvent, ItemAdded, ItemRenamed, ItemRetired, ReorderRequested, StockConsumed,
    StockCounted, StockReceived, upcast,
};
pub use rules::{Inventory, InventoryRejection, Item};
pub use views::{
    ACTIVITY_LENGTH, Activity, ActivityEntry, HISTORY_POINTS, History, LowStock, ReorderRow,
    Reorders, Stock, StockRow,
};

/// The README's example, run as a test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct Readme;
