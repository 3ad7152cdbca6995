//! What users of the inventory ask for.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::commands;

commands! {
    /// An inventory command; on the wire `{"type": "ConsumeStock", "data": {...}}`.
    pub enum InventoryCommand {
        AddItem,
        RenameItem,
        ReceiveStock,
        ConsumeStock,
        CountStock,
        RetireItem,
    }
}

/// Start tracking a new item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddItem {
    /// The new item's id, made by the client.
    pub item: Uuid,
    /// Its name: trimmed, 1-100 characters.
    pub name: String,
    /// What one unit is ("kg", "each"); `each` when absent.
    #[serde(default = "each")]
    pub unit: String,
    /// Below this total the item is low on stock; 0 when absent.
    #[serde(default)]
    pub reorder_level: i64,
}

fn each() -> String {
    "each".to_owned()
}

/// Give an item a new name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenameItem {
    /// The item.
    pub item: Uuid,
    /// Its new name: trimmed, 1-100 characters.
    pub name: String,
}

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiveStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units arrived: more than 0.
    pub qty: i64,
    /// A free note, such as a delivery reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsumeStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were used: more than 0, and no more than the site holds.
    pub qty: i64,
}

/// A stocktake: the counted quantity replaces what the site held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were counted: 0 or more.
    pub counted: i64,
}

/// Stop tracking an item; its history stays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetireItem {
    /// The item.
    pub item: Uuid,
}
