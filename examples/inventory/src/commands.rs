//! What users of the inventory ask for.

use annals_core::Uuid;

use annals_core::commands;

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
#[derive(Clone, Debug, PartialEq)]
pub struct AddItem {
    /// The new item's id, made by the client.
    pub item: Uuid,
    /// Its name: trimmed, 1-100 characters.
    pub name: String,
    /// What one unit is ("kg", "each"); `each` when absent.
    pub unit: String,
    /// Below this total the item is low on stock; 0 when absent.
    pub reorder_level: i64,
}

annals_core::json_struct!(AddItem { item, name, unit = each(), reorder_level = Default::default() });

fn each() -> String {
    "each".to_owned()
}

/// Give an item a new name.
#[derive(Clone, Debug, PartialEq)]
pub struct RenameItem {
    /// The item.
    pub item: Uuid,
    /// Its new name: trimmed, 1-100 characters.
    pub name: String,
}

annals_core::json_struct!(RenameItem { item, name });

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiveStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units arrived: more than 0.
    pub qty: i64,
    /// A free note, such as a delivery reference.
    pub note: Option<String>,
}

annals_core::json_struct!(ReceiveStock { item, site, qty, note });

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumeStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were used: more than 0, and no more than the site holds.
    pub qty: i64,
}

annals_core::json_struct!(ConsumeStock { item, site, qty });

/// A stocktake: the counted quantity replaces what the site held.
#[derive(Clone, Debug, PartialEq)]
pub struct CountStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were counted: 0 or more.
    pub counted: i64,
}

annals_core::json_struct!(CountStock { item, site, counted });

/// Stop tracking an item; its history stays.
#[derive(Clone, Debug, PartialEq)]
pub struct RetireItem {
    /// The item.
    pub item: Uuid,
}

annals_core::json_struct!(RetireItem { item });
