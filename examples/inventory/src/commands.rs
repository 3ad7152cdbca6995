//! What users of the inventory ask for.

use annals_core::{Command, Json, Uuid};

/// An inventory command; on the wire `{"type": "ConsumeStock", "data": {...}}`.
#[derive(Clone, Debug, PartialEq, Command)]
pub enum InventoryCommand {
    /// See [`AddItem`].
    AddItem(AddItem),
    /// See [`RenameItem`].
    RenameItem(RenameItem),
    /// See [`ReceiveStock`].
    ReceiveStock(ReceiveStock),
    /// See [`ConsumeStock`].
    ConsumeStock(ConsumeStock),
    /// See [`CountStock`].
    CountStock(CountStock),
    /// See [`RetireItem`].
    RetireItem(RetireItem),
    /// See [`RequestReorder`].
    RequestReorder(RequestReorder),
}

/// Start tracking a new item.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct AddItem {
    /// The new item's id, made by the client.
    pub item: Uuid,
    /// Its name: trimmed, 1-100 characters.
    pub name: String,
    /// What one unit is ("kg", "each"); `each` when absent.
    #[json(default = "each")]
    pub unit: String,
    /// Below this total the item is low on stock; 0 when absent.
    #[json(default)]
    pub reorder_level: i64,
}

fn each() -> String {
    "each".to_owned()
}

/// Give an item a new name.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct RenameItem {
    /// The item.
    pub item: Uuid,
    /// Its new name: trimmed, 1-100 characters.
    pub name: String,
    /// Only if the item is called this now (trimmed); refused with `name_changed` otherwise.
    /// An undo sets the name back on this condition, so it never erases another rename.
    pub from: Option<String>,
}

/// Stock arrived at a site.
#[derive(Clone, Debug, PartialEq, Json)]
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

/// Stock was used at a site.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct ConsumeStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were used: more than 0, and no more than the site holds.
    pub qty: i64,
}

/// A stocktake: the counted quantity replaces what the site held.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct CountStock {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
    /// How many units were counted: 0 or more.
    pub counted: i64,
    /// Only if the site holds this many now; refused with `stock_changed` otherwise.
    pub from: Option<i64>,
}

/// Stop tracking an item; its history stays.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct RetireItem {
    /// The item.
    pub item: Uuid,
}

/// Ask for more of an item at a site: issued by the server's reorder reaction when the site's
/// stock falls below the item's reorder level.
#[derive(Clone, Debug, PartialEq, Json)]
pub struct RequestReorder {
    /// The item.
    pub item: Uuid,
    /// The site: 1-40 characters.
    pub site: String,
}
