//! Two saved copies of one replica, written by tabs that raced, merge without losing or
//! doubling a command. Runs natively: merging is plain data.

#![cfg(not(target_arch = "wasm32"))]
use annals_core::{Replica, Uuid, meta};
use annals_inventory::{AddItem, Inventory, InventoryCommand, ReceiveStock};
use annals_wasm::merge;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn add(item: u128) -> InventoryCommand {
    InventoryCommand::AddItem(AddItem {
        item: id(item),
        name: "Rice".into(),
        unit: "kg".into(),
        reorder_level: 0,
    })
}

fn receive(item: u128, qty: i64) -> InventoryCommand {
    InventoryCommand::ReceiveStock(ReceiveStock {
        item: id(item),
        site: "north".into(),
        qty,
        note: None,
    })
}

fn pending_ids(replica: &Replica<Inventory>) -> Vec<Uuid> {
    replica.pending().iter().map(|p| p.meta.command).collect()
}

#[test]
fn commands_of_both_copies_are_kept_once_each() {
    let mut a = Replica::<Inventory>::new();
    a.execute(add(1), meta(id(100), "a", 0)).expect("add");
    let mut b = Replica::restore(a.save()).0;
    a.execute(receive(1, 2), meta(id(101), "a", 1)).expect("a receives");
    b.execute(receive(1, 3), meta(id(102), "b", 1)).expect("b receives");

    let (merged, changed) = merge(a.save(), b.save());
    assert!(changed);
    let merged = Replica::restore(merged).0;
    assert_eq!(pending_ids(&merged), [id(100), id(101), id(102)]);
    assert_eq!(merged.stream(&format!("item-{}", id(1))).state.map(|i| i.at("north")), Some(5));

    let (same, changed) = merge(merged.save(), a.save());
    assert!(!changed, "nothing new");
    assert_eq!(same.pending.len(), 3);
}

#[test]
fn a_command_the_other_copy_saw_rejected_stays_rejected() {
    let mut a = Replica::<Inventory>::new();
    a.execute(add(1), meta(id(100), "a", 0)).expect("add");
    let b = Replica::restore(a.save()).0;
    let refused = annals_core::protocol::CommandResult::Rejected {
        id: id(100),
        code: "item_exists".into(),
        message: "Item exists.".into(),
    };
    a.acknowledge(&[refused]);

    let (merged, changed) = merge(b.save(), a.save());
    assert!(changed);
    assert!(merged.pending.is_empty());
    assert_eq!(merged.rejected.len(), 1);
    assert_eq!(merged.rejected[0].code, "item_exists");
}

/// A merge is a union: a rejected command one copy still holds comes back. Forgetting a
/// dismissed one is the package's, which stores dismissed ids in each entry (the browser suite
/// `persistence` shows a dismissal surviving a reopen over older entries).
#[test]
fn a_rejection_one_copy_holds_is_kept_by_the_union() {
    let mut a = Replica::<Inventory>::new();
    a.execute(add(1), meta(id(100), "a", 0)).expect("add");
    let refused = annals_core::protocol::CommandResult::Rejected {
        id: id(100),
        code: "item_exists".into(),
        message: "Item exists.".into(),
    };
    a.acknowledge(&[refused]);
    let b = Replica::restore(a.save()).0;
    a.dismiss(&id(100));

    let (merged, changed) = merge(a.save(), b.save());
    assert!(changed);
    assert_eq!(merged.rejected.iter().map(|r| r.id).collect::<Vec<_>>(), [id(100)]);
    assert!(merged.pending.is_empty());
}
