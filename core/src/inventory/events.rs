//! What happened to inventory items, and how older payloads are upgraded.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{DecodeError, events};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemAdded {
    /// The item's name.
    pub name: String,
    /// What one unit is.
    pub unit: String,
    /// Below this total the item is low on stock.
    pub reorder_level: i64,
}

/// An item was renamed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRenamed {
    /// The new name.
    pub name: String,
}

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockReceived {
    /// The site.
    pub site: String,
    /// Units received.
    pub qty: i64,
    /// A free note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockConsumed {
    /// The site.
    pub site: String,
    /// Units used.
    pub qty: i64,
}

/// A site's stock was counted; the count replaces what it held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockCounted {
    /// The site.
    pub site: String,
    /// Units counted.
    pub counted: i64,
    /// `counted` minus what the site held before.
    pub delta: i64,
}

/// An item was retired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRetired {}

/// Upgrades stored inventory payloads of older schemas:
/// `ItemAdded` 1 `{"item_name"}` becomes 2 `{"name", "unit": "each", "reorder_level": 0}`.
pub fn upcast(event_type: &str, schema: u32, data: Value) -> Result<Value, DecodeError> {
    match (event_type, schema) {
        ("ItemAdded", 1) => {
            let name = data.get("item_name").cloned().ok_or_else(|| {
                DecodeError::new("invalid_event", "ItemAdded (schema 1) has no item_name")
            })?;
            Ok(json!({ "name": name, "unit": "each", "reorder_level": 0 }))
        }
        _ => crate::no_upcast(event_type, schema, data),
    }
}
