//! What happened to inventory items, and how older payloads are upgraded.

use annals_core::{DecodeError, events, json};

events! {
    /// An inventory event.
    pub enum InventoryEvent {
        ItemAdded = 2,
        ItemRenamed = 1,
        StockReceived = 1,
        StockConsumed = 1,
        StockCounted = 1,
        ItemRetired = 1,
    }
    upcast: upcast
}

/// An item was added. Schema 2; schema 1 was `{"item_name"}` alone.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemAdded {
    /// The item's name.
    pub name: String,
    /// What one unit is.
    pub unit: String,
    /// Below this total the item is low on stock.
    pub reorder_level: i64,
}

annals_core::json_struct!(ItemAdded { name, unit, reorder_level });

/// An item was renamed.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRenamed {
    /// The new name.
    pub name: String,
}

annals_core::json_struct!(ItemRenamed { name });

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq)]
pub struct StockReceived {
    /// The site.
    pub site: String,
    /// Units received.
    pub qty: i64,
    /// A free note.
    pub note: Option<String>,
}

annals_core::json_struct!(StockReceived { site, qty, note });

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq)]
pub struct StockConsumed {
    /// The site.
    pub site: String,
    /// Units used.
    pub qty: i64,
}

annals_core::json_struct!(StockConsumed { site, qty });

/// A site's stock was counted; the count replaces what it held.
#[derive(Clone, Debug, PartialEq)]
pub struct StockCounted {
    /// The site.
    pub site: String,
    /// Units counted.
    pub counted: i64,
    /// `counted` minus what the site held before.
    pub delta: i64,
}

annals_core::json_struct!(StockCounted { site, counted, delta });

/// An item was retired.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRetired {}

annals_core::json_struct!(ItemRetired {});

/// `ItemAdded` as schema 1 wrote it.
struct ItemAddedV1 {
    item_name: String,
}

annals_core::json_struct!(ItemAddedV1 { item_name });

/// Upgrades stored inventory payloads of older schemas:
/// `ItemAdded` 1 `{"item_name"}` becomes 2 `{"name", "unit": "each", "reorder_level": 0}`.
pub fn upcast(event_type: &str, schema: u32, data: &str) -> Result<String, DecodeError> {
    match (event_type, schema) {
        ("ItemAdded", 1) => {
            let old: ItemAddedV1 = json::from_str(data).map_err(|err| {
                DecodeError::new("invalid_event", format!("ItemAdded (schema 1): {err}"))
            })?;
            let new = ItemAdded { name: old.item_name, unit: "each".to_owned(), reorder_level: 0 };
            Ok(json::to_string(&new))
        }
        _ => annals_core::no_upcast(event_type, schema, data),
    }
}
