//! Undo across devices, as issue #17's probes found it in the browser: two replicas of the
//! inventory sync with a server (a `MemoryLog`). An undo takes back its own command's effect,
//! keeps what the other device did, and never takes effect when its command is refused.

use annals_core::{CommandData, MemoryLog, Replica, Status, Uuid, meta, stream_name};
use annals_inventory::*;

const MILK: Uuid = Uuid::from_u128(0x6d696c6b);
const NORTH: &str = "north";

/// The server and two devices that share its log.
struct Cafeteria {
    server: MemoryLog<Inventory>,
    devices: [Replica<Inventory>; 2],
    commands: u128,
}

const A: usize = 0;
const B: usize = 1;

impl Cafeteria {
    /// Milk, known to both devices, with `held` litres at north.
    fn with_milk(held: i64) -> Self {
        let mut cafeteria =
            Cafeteria { server: MemoryLog::default(), devices: Default::default(), commands: 0 };
        let add = AddItem { item: MILK, name: "Milk".into(), unit: "l".into(), reorder_level: 0 };
        cafeteria.run(A, InventoryCommand::AddItem(add));
        cafeteria.run(A, receive(held));
        cafeteria.sync(A);
        cafeteria.sync(B);
        cafeteria
    }

    fn next_meta(&mut self) -> annals_core::Meta {
        self.commands += 1;
        meta(Uuid::from_u128(0xCAFE_0000 + self.commands), "cook", 1_732_370_000_000)
    }

    /// A device runs `command` (offline until it syncs) and returns its id.
    fn run(&mut self, device: usize, command: InventoryCommand) -> Uuid {
        let meta = self.next_meta();
        self.devices[device].execute(command, meta.clone()).expect("the command holds");
        meta.command
    }

    /// A device undoes its last command and returns the undo's id.
    fn undo(&mut self, device: usize) -> Uuid {
        let meta = self.next_meta();
        self.devices[device].undo(meta.clone()).expect("the undo holds");
        meta.command
    }

    /// A device goes online: it pushes and pulls until it has nothing left to send.
    fn sync(&mut self, device: usize) {
        let replica = &mut self.devices[device];
        loop {
            replica.receive(self.server.after(replica.position())).expect("no gap");
            let outbox = replica.outbox();
            if outbox.is_empty() {
                break;
            }
            let results: Vec<_> = outbox
                .into_iter()
                .map(|request| {
                    let command = InventoryCommand::decode(&request.command_type, &request.data)
                        .expect("a replica sends commands its domain can read");
                    self.server.submit(&command, &meta(request.id, "cook", 0), None)
                })
                .collect();
            replica.acknowledge(&results);
        }
    }

    /// Litres of milk at north, as the server holds them.
    fn north(&self) -> i64 {
        let item = self.server.state(&stream_name("item", &MILK)).state;
        item.expect("Milk was added").at(NORTH)
    }

    /// Whether the server recorded the command `id`.
    fn recorded(&self, id: Uuid) -> bool {
        self.server.events().iter().any(|e| e.meta.command == id)
    }
}

fn receive(qty: i64) -> InventoryCommand {
    InventoryCommand::ReceiveStock(ReceiveStock { item: MILK, site: NORTH.into(), qty, note: None })
}

fn consume(qty: i64) -> InventoryCommand {
    InventoryCommand::ConsumeStock(ConsumeStock { item: MILK, site: NORTH.into(), qty })
}

fn count(counted: i64) -> InventoryCommand {
    InventoryCommand::CountStock(CountStock { item: MILK, site: NORTH.into(), counted, from: None })
}

#[test]
fn an_undo_of_a_consumption_the_server_refuses_is_refused_with_it() {
    // Probe 3: stock 10; offline, A uses 10 and undoes it; B uses 5; A goes online.
    let mut cafeteria = Cafeteria::with_milk(10);
    let used = cafeteria.run(A, consume(10));
    let undone = cafeteria.undo(A);
    cafeteria.run(B, consume(5));
    cafeteria.sync(B);

    cafeteria.sync(A);

    assert_eq!(cafeteria.north(), 5, "B's use stands, and nothing of A's");
    assert!(!cafeteria.recorded(used) && !cafeteria.recorded(undone));
    let a = &cafeteria.devices[A];
    let reasons: Vec<_> = a.rejected().iter().map(|r| (r.id, r.code.as_str())).collect();
    assert_eq!(reasons, [(used, "insufficient_stock"), (undone, "insufficient_stock")]);
    assert_eq!(a.rejected()[0].message, a.rejected()[1].message);
}

#[test]
fn an_undo_of_a_count_keeps_what_another_device_received_since() {
    // Probe 4: 10 received and counted as 8, synced; B receives 5 (13); A undoes the count.
    let mut cafeteria = Cafeteria::with_milk(10);
    cafeteria.run(A, count(8));
    cafeteria.sync(A);
    cafeteria.run(B, receive(5));
    cafeteria.sync(B);
    assert_eq!(cafeteria.north(), 13);

    let undone = cafeteria.undo(A);
    cafeteria.sync(A);

    assert_eq!(cafeteria.devices[A].status(&undone), Some(Status::Accepted));
    assert_eq!(cafeteria.north(), 15, "the count's 2 come back and B's 5 stay");
}

#[test]
fn an_undo_of_a_count_made_offline_takes_back_the_difference_the_server_recorded() {
    // A counts 8 offline where it knew of 10, and undoes it; B receives 5 first. The server
    // records the count as 7 fewer (15 to 8): the undo brings back 7, not the 2 A saw.
    let mut cafeteria = Cafeteria::with_milk(10);
    cafeteria.run(A, count(8));
    let undone = cafeteria.undo(A);
    cafeteria.run(B, receive(5));
    cafeteria.sync(B);

    cafeteria.sync(A);

    assert_eq!(cafeteria.devices[A].status(&undone), Some(Status::Accepted));
    assert_eq!(cafeteria.north(), 15);
    let recorded = cafeteria.server.events().iter().find(|e| e.meta.command == undone);
    assert_eq!(recorded.map(|e| &e.event), Some(&stock_received(7)));
}

#[test]
fn an_undo_of_a_rename_after_another_device_renamed_is_refused() {
    let mut cafeteria = Cafeteria::with_milk(1);
    let rename = |name: &str| {
        InventoryCommand::RenameItem(RenameItem { item: MILK, name: name.into(), from: None })
    };
    cafeteria.run(A, rename("Whole milk"));
    cafeteria.sync(A);
    cafeteria.sync(B);
    cafeteria.run(B, rename("Oat milk"));
    cafeteria.sync(B);

    let undone = cafeteria.undo(A);
    cafeteria.sync(A);

    let a = &cafeteria.devices[A];
    assert_eq!(a.status(&undone), Some(Status::Rejected));
    assert_eq!(a.rejected()[0].code, "name_changed");
    let item = cafeteria.server.state(&stream_name("item", &MILK)).state;
    assert_eq!(item.map(|item| item.name), Some("Oat milk".into()));
}

fn stock_received(qty: i64) -> InventoryEvent {
    InventoryEvent::StockReceived(StockReceived { site: NORTH.into(), qty, note: None })
}
