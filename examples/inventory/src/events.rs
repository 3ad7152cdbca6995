//! What happened to inventory items, and how older payloads are upgraded.

use annals_core::{DecodeError, Event, Json, json};

/// An inventory event.
#[derive(Clone, Debug, PartialEq, Event)]
#[event(upcast = upcast)]
pub enum InventoryEvent {
    /// See [`ItemAdded`].
    #[event(schema = 2)]
    ItemAdded(ItemAdded),
    /// See [`ItemRenamed`].
    ItemRenamed(ItemRenamed),
    /// See [`StockReceived`].
    StockReceived(StockReceived),
    /// See [`StockConsumed`].
    StockConsumed(StockConsumed),
    /// See [`StockCounted`].
    StockCounted(StockCounted),
    /// See [`ItemRetired`].
    ItemRetired(ItemRetired),
    /// See [`ReorderRequested`].
    ReorderRequested(ReorderRequested),
}

/// An item was added. Schema 2; schema 1 was `{"item_name"}` alone.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ItemAdded {
    /// The item's name.
    pub name: String,
    /// What one unit is.
    pub unit: String,
    /// Below this total the item is low on stock.
    pub reorder_level: i64,
}

/// An item was renamed.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ItemRenamed {
    /// The new name.
    pub name: String,
}

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct StockReceived {
    /// The site.
    pub site: String,
    /// Units received.
    pub qty: i64,
    /// A free note.
    pub note: Option<String>,
}

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct StockConsumed {
    /// The site.
    pub site: String,
    /// Units used.
    pub qty: i64,
}

/// A site's stock was counted; the count replaces what it held.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct StockCounted {
    /// The site.
    pub site: String,
    /// Units counted.
    pub counted: i64,
    /// `counted` minus what the site held before.
    pub delta: i64,
}

/// An item was retired.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ItemRetired {}

/// More of an item was asked for at a site.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ReorderRequested {
    /// The site.
    pub site: String,
    /// Units the site held when it was asked.
    pub held: i64,
    /// The item's reorder level then.
    pub reorder_level: i64,
}

/// `ItemAdded` as schema 1 wrote it.
#[derive(Json)]
struct ItemAddedV1 {
    item_name: String,
}

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
