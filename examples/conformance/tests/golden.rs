//! Golden fixtures of stored events (SPEC section 2): every event type of the inventory, the
//! bank and the to-do list at its current schema, and every older schema, must still load from
//! `examples/<domain>/tests/fixtures/<Type>.v<schema>.json`; current ones must write back the
//! same JSON.
//! Then the decode errors, command decoding, and the envelope's wire shape; and a replica as
//! a browser stores it, in `tests/saved/`: as the current code saves it, and as code that did
//! not tie undos to their commands saved it (which must still load).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use annals_bank::*;
use annals_core::protocol::CommandResult;
use annals_core::testing::raw;
use annals_core::{
    CommandData, Envelope, EventData, MemoryLog, Replica, Saved, Tie, Uuid, ViewSet, meta,
};
use annals_inventory::*;
use annals_todo::TodoEvent;
use serde_json::{Value, json};

/// The item of the inventory fixtures.
const ITEM: &str = "6f1c2a9e-3b7d-4c58-9e21-5d8a0b4f7c13";
/// The account of the bank fixtures, and the other side of its transfer.
const ACCOUNT: &str = "3d0e7b52-8a41-4f6c-b1d9-27c5e8a09f64";
const OTHER: &str = "9b2f6e14-c7a3-4d85-a0e6-51f83d2c7b90";

/// Every inventory event type; each needs a fixture at its current schema.
const INVENTORY_TYPES: [&str; 7] = [
    "ItemAdded",
    "ItemRenamed",
    "StockReceived",
    "StockConsumed",
    "StockCounted",
    "ItemRetired",
    "ReorderRequested",
];

/// Every bank event type; each needs a fixture at its current schema.
const BANK_TYPES: [&str; 7] = [
    "AccountOpened",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "CreditLineChanged",
    "TransferredOut",
    "TransferredIn",
    "AccountClosed",
];

/// Every to-do event type; each needs a fixture at its current schema.
const TODO_TYPES: [&str; 4] = ["TodoAdded", "TodoEdited", "TodoToggled", "TodoDeleted"];

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("a valid uuid")
}

/// One stored envelope, from `tests/fixtures/<domain>/<Type>.v<schema>.json`.
struct Fixture {
    file: String,
    event_type: String,
    schema: u32,
    text: String,
    json: Value,
}

/// Where the example `domain` keeps its fixtures.
fn fixtures_of(domain: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(domain).join("tests/fixtures")
}

/// Every fixture of `domain`, in file name order; a new file is picked up by itself.
fn fixtures(domain: &str) -> Vec<Fixture> {
    let dir = fixtures_of(domain);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{dir:?}: {err}"));
    let mut paths: Vec<_> =
        entries.map(|entry| entry.expect("a readable directory entry").path()).collect();
    paths.sort();
    paths.iter().map(|path| fixture(path)).collect()
}

fn fixture(path: &Path) -> Fixture {
    let file =
        path.file_name().and_then(|name| name.to_str()).expect("a file name in UTF-8").to_owned();
    let (event_type, schema) = file
        .strip_suffix(".json")
        .and_then(|name| name.rsplit_once(".v"))
        .and_then(|(event_type, schema)| Some((event_type.to_owned(), schema.parse().ok()?)))
        .unwrap_or_else(|| panic!("{file} is not named <Type>.v<schema>.json"));
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{file}: {err}"));
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{file}: {err}"));
    assert_eq!(json["type"], json!(event_type), "{file}: type and file name differ");
    assert_eq!(json["schema"], json!(schema), "{file}: schema and file name differ");
    Fixture { file, event_type, schema, text, json }
}

/// Loads `fixture` as an `Envelope<E>` and checks its event is `expected`; at the current
/// schema, writing it back gives the same JSON, and at an older one the same envelope at the
/// current schema. Returns whether the fixture is at the current schema.
#[track_caller]
fn check_fixture<E: EventData + Debug + PartialEq>(fixture: &Fixture, expected: E) -> bool {
    let file = &fixture.file;
    let envelope: Envelope<E> =
        serde_json::from_str(&fixture.text).unwrap_or_else(|err| panic!("{file}: {err}"));
    assert_eq!(envelope.event, expected, "{file}: decoded event");
    assert_eq!(json!(envelope.id), fixture.json["id"], "{file}: id");
    assert_eq!(json!(envelope.stream), fixture.json["stream"], "{file}: stream");
    assert_eq!(json!(envelope.version), fixture.json["version"], "{file}: version");
    assert_eq!(json!(envelope.position), fixture.json["position"], "{file}: position");
    assert_eq!(json!(envelope.meta), fixture.json["meta"], "{file}: meta");

    let written = serde_json::to_value(&envelope).expect("an envelope serializes");
    let current = expected.schema();
    if fixture.schema == current {
        assert_eq!(written, fixture.json, "{file}: written back differently");
        return true;
    }
    assert!(fixture.schema < current, "{file}: schema newer than the code's {current}");
    let envelope_only = |mut json: Value| {
        let object = json.as_object_mut().expect("an envelope is an object");
        object.remove("schema");
        object.remove("data");
        json
    };
    assert_eq!(written["schema"], json!(current), "{file}: upcast to the current schema");
    assert_eq!(envelope_only(written), envelope_only(fixture.json.clone()), "{file}");
    false
}

/// The event each inventory fixture must decode to.
fn inventory_event(file: &str) -> InventoryEvent {
    match file {
        "ItemAdded.v1.json" => InventoryEvent::ItemAdded(ItemAdded {
            name: "Milk".into(),
            unit: "each".into(),
            reorder_level: 0,
        }),
        "ItemAdded.v2.json" => InventoryEvent::ItemAdded(ItemAdded {
            name: "Whole milk".into(),
            unit: "l".into(),
            reorder_level: 12,
        }),
        "ItemRenamed.v1.json" => {
            InventoryEvent::ItemRenamed(ItemRenamed { name: "Whole milk 1 l".into() })
        }
        "StockReceived.v1.json" => InventoryEvent::StockReceived(StockReceived {
            site: "crossroads".into(),
            qty: 24,
            note: Some("delivery 4471".into()),
        }),
        "StockConsumed.v1.json" => {
            InventoryEvent::StockConsumed(StockConsumed { site: "crossroads".into(), qty: 3 })
        }
        "StockCounted.v1.json" => InventoryEvent::StockCounted(StockCounted {
            site: "crossroads".into(),
            counted: 20,
            delta: -1,
        }),
        "ItemRetired.v1.json" => InventoryEvent::ItemRetired(ItemRetired {}),
        "ReorderRequested.v1.json" => InventoryEvent::ReorderRequested(ReorderRequested {
            site: "crossroads".into(),
            held: 9,
            reorder_level: 12,
        }),
        other => panic!("inventory/{other}: add the event it must decode to"),
    }
}

/// The event each bank fixture must decode to.
fn bank_event(file: &str) -> BankEvent {
    match file {
        "AccountOpened.v1.json" => {
            BankEvent::AccountOpened(AccountOpened { owner: "Ada Lovelace".into() })
        }
        "MoneyDeposited.v1.json" => BankEvent::MoneyDeposited(MoneyDeposited {
            amount: 150_000,
            reference: "salary".into(),
        }),
        "MoneyWithdrawn.v1.json" => {
            BankEvent::MoneyWithdrawn(MoneyWithdrawn { amount: 2_500, reference: "cash".into() })
        }
        "CreditLineChanged.v1.json" => {
            BankEvent::CreditLineChanged(CreditLineChanged { limit: 50_000 })
        }
        "TransferredOut.v1.json" => BankEvent::TransferredOut(TransferredOut {
            to: uuid(OTHER),
            amount: 120_000,
            reference: "rent".into(),
        }),
        "TransferredIn.v1.json" => BankEvent::TransferredIn(TransferredIn {
            from: uuid(ACCOUNT),
            amount: 120_000,
            reference: "rent".into(),
        }),
        "AccountClosed.v1.json" => BankEvent::AccountClosed(AccountClosed {}),
        other => panic!("bank/{other}: add the event it must decode to"),
    }
}

/// The event each to-do fixture must decode to.
fn todo_event(file: &str) -> TodoEvent {
    match file {
        "TodoAdded.v1.json" => TodoEvent::TodoAdded { title: "Buy milk".into() },
        "TodoEdited.v1.json" => TodoEvent::TodoEdited { title: "Buy oat milk".into() },
        "TodoToggled.v1.json" => TodoEvent::TodoToggled { completed: true },
        "TodoDeleted.v1.json" => TodoEvent::TodoDeleted { completed: true },
        other => panic!("todo/{other}: add the event it must decode to"),
    }
}

/// Checks every fixture of `domain` with `expected`, and that every one of `types` has a
/// fixture at its current schema.
#[track_caller]
fn check_domain<E: EventData + Debug + PartialEq>(
    domain: &str,
    types: &[&str],
    expected: fn(&str) -> E,
) {
    let fixtures = fixtures(domain);
    assert!(
        fixtures.len() >= types.len(),
        "{domain}: {} fixtures for {} event types",
        fixtures.len(),
        types.len()
    );
    let mut current = BTreeSet::new();
    for fixture in &fixtures {
        if check_fixture(fixture, expected(&fixture.file)) {
            current.insert(fixture.event_type.as_str());
        }
    }
    let types: BTreeSet<&str> = types.iter().copied().collect();
    assert_eq!(current, types, "{domain}: event types with a fixture at the current schema");
}

#[test]
fn every_inventory_fixture_loads_and_current_ones_write_back_the_same_json() {
    check_domain("inventory", &INVENTORY_TYPES, inventory_event);
}

#[test]
fn every_bank_fixture_loads_and_current_ones_write_back_the_same_json() {
    check_domain("bank", &BANK_TYPES, bank_event);
}

#[test]
fn every_todo_fixture_loads_and_current_ones_write_back_the_same_json() {
    check_domain("todo", &TODO_TYPES, todo_event);
}

#[test]
fn an_item_added_under_schema_1_still_loads_into_stock_as_each_with_no_reorder_level() {
    let path = fixtures_of("inventory").join("ItemAdded.v1.json");
    let old = fixture(&path);
    assert_eq!(old.json["data"], json!({ "item_name": "Milk" }));
    let envelope: Envelope<InventoryEvent> =
        serde_json::from_str(&old.text).expect("schema 1 still loads");
    let views = ViewSet::<Inventory>::fold([&envelope]);
    let stock = views.view("stock").expect("a stock view").get(ITEM);
    let stock = stock.map(|row| serde_json::from_str::<Value>(row.get()).expect("a row is JSON"));
    assert_eq!(
        stock,
        Some(json!({
            "name": "Milk", "unit": "each", "reorder_level": 0,
            "sites": {}, "total": 0, "retired": false,
        }))
    );
}

// Decode errors.

/// Stores an envelope of `event_type` at `schema` with `data`, and returns the code of the
/// error decoding it as `E`, the same whether decoded from the stored envelope or read
/// straight off the wire.
#[track_caller]
fn decode_error<E: EventData + Debug>(event_type: &str, schema: u32, data: Value) -> String {
    let stored = json!({
        "id": "0d4e8f1a-2b3c-4d5e-8f60-718293a4b5c6", "stream": format!("item-{ITEM}"),
        "version": 1, "position": 1, "type": event_type, "schema": schema, "data": data,
        "meta": { "command": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "actor": "cook", "at": 0 },
    })
    .to_string();
    let raw: Envelope = serde_json::from_str(&stored).expect("any event reads as raw JSON");
    let error = match raw.decode::<E>() {
        Ok(envelope) => panic!("{event_type} v{schema} decoded to {:?}", envelope.event),
        Err(error) => error,
    };
    assert!(!error.message.is_empty(), "a decode error needs a message");
    let direct = serde_json::from_str::<Envelope<E>>(&stored)
        .map(|envelope| envelope.event)
        .expect_err("the wire refuses what decoding refuses");
    assert!(direct.to_string().starts_with(&error.code), "{direct} does not carry {}", error.code);
    error.code
}

#[test]
fn an_unknown_event_type_is_refused() {
    let milk = json!({ "name": "Milk", "unit": "l", "reorder_level": 2 });
    assert_eq!(decode_error::<InventoryEvent>("ItemDeleted", 1, json!({})), "unknown_event_type");
    assert_eq!(decode_error::<InventoryEvent>("itemAdded", 2, milk.clone()), "unknown_event_type");
    assert_eq!(
        decode_error::<InventoryEvent>("AccountOpened", 1, json!({ "owner": "Ada" })),
        "unknown_event_type"
    );
    assert_eq!(decode_error::<BankEvent>("ItemAdded", 2, milk), "unknown_event_type");
    assert_eq!(decode_error::<BankEvent>("AccountFrozen", 1, json!({})), "unknown_event_type");
}

#[test]
fn a_schema_newer_than_the_code_is_refused() {
    let consumed = json!({ "site": "crossroads", "qty": 3 });
    let milk = json!({ "name": "Milk", "unit": "l", "reorder_level": 2 });
    let deposited = json!({ "amount": 100, "reference": "salary" });
    let cases = [
        decode_error::<InventoryEvent>("ItemAdded", 3, milk),
        decode_error::<InventoryEvent>("StockConsumed", 2, consumed.clone()),
        decode_error::<InventoryEvent>("StockConsumed", 0, consumed),
        decode_error::<BankEvent>("MoneyDeposited", 2, deposited.clone()),
        decode_error::<BankEvent>("MoneyDeposited", 0, deposited),
    ];
    for code in cases {
        assert_eq!(code, "unsupported_schema");
    }
}

#[test]
fn a_payload_that_does_not_fit_its_type_and_schema_is_refused() {
    let cases = [
        decode_error::<InventoryEvent>("StockConsumed", 1, json!({ "site": "crossroads" })),
        decode_error::<InventoryEvent>(
            "StockConsumed",
            1,
            json!({ "site": "crossroads", "qty": "3" }),
        ),
        decode_error::<InventoryEvent>(
            "StockConsumed",
            1,
            json!({ "site": "crossroads", "qty": 1.5 }),
        ),
        decode_error::<InventoryEvent>("ItemAdded", 2, json!({ "item_name": "Milk" })),
        decode_error::<InventoryEvent>("ItemAdded", 1, json!({ "name": "Milk" })),
        decode_error::<InventoryEvent>("ItemAdded", 1, json!({ "item_name": 7 })),
        decode_error::<InventoryEvent>("ItemRenamed", 1, json!("Milk")),
        decode_error::<BankEvent>("MoneyDeposited", 1, json!({ "amount": 10.5, "reference": "" })),
        decode_error::<BankEvent>(
            "TransferredIn",
            1,
            json!({ "from": "nobody", "amount": 5, "reference": "" }),
        ),
        decode_error::<BankEvent>("CreditLineChanged", 1, json!({})),
    ];
    for code in cases {
        assert_eq!(code, "invalid_event");
    }
}

// Commands on the wire.

#[test]
fn commands_decode_from_their_type_and_data_and_back() {
    let consume = InventoryCommand::ConsumeStock(ConsumeStock {
        item: uuid(ITEM),
        site: "crossroads".into(),
        qty: 2,
    });
    assert_eq!(
        InventoryCommand::decode(
            "ConsumeStock",
            &raw(json!({ "item": ITEM, "site": "crossroads", "qty": 2 }))
        ),
        Ok(consume.clone())
    );
    assert_eq!(consume.command_type(), "ConsumeStock");
    assert_eq!(InventoryCommand::decode("ConsumeStock", &consume.data()), Ok(consume));

    let transfer = BankCommand::Transfer(Transfer {
        from: uuid(ACCOUNT),
        to: uuid(OTHER),
        amount: 120_000,
        reference: "rent".into(),
    });
    assert_eq!(
        serde_json::from_str::<Value>(transfer.data().get()).expect("data is JSON"),
        json!({ "from": ACCOUNT, "to": OTHER, "amount": 120_000, "reference": "rent" })
    );
    assert_eq!(transfer.command_type(), "Transfer");
    assert_eq!(BankCommand::decode("Transfer", &transfer.data()), Ok(transfer));
}

/// Decodes a command of `command_type` with `data` as `C` and returns the error's code.
#[track_caller]
fn command_error<C: CommandData + Debug>(command_type: &str, data: Value) -> String {
    match C::decode(command_type, &raw(data)) {
        Ok(command) => panic!("{command_type} decoded to {command:?}"),
        Err(error) => {
            assert!(!error.message.is_empty(), "a decode error needs a message");
            error.code
        }
    }
}

#[test]
fn an_unknown_command_type_is_refused() {
    let consume = json!({ "item": ITEM, "site": "crossroads", "qty": 2 });
    assert_eq!(
        command_error::<InventoryCommand>("ExplodeStock", consume.clone()),
        "unknown_command_type"
    );
    assert_eq!(command_error::<InventoryCommand>("consumeStock", consume), "unknown_command_type");
    assert_eq!(
        command_error::<InventoryCommand>("Deposit", json!({ "account": ACCOUNT, "amount": 1 })),
        "unknown_command_type"
    );
    assert_eq!(
        command_error::<BankCommand>("Borrow", json!({ "account": ACCOUNT, "amount": 1 })),
        "unknown_command_type"
    );
}

#[test]
fn a_command_whose_data_does_not_fit_its_type_is_refused() {
    let cases = [
        command_error::<InventoryCommand>(
            "ConsumeStock",
            json!({ "item": "milk", "site": "crossroads", "qty": 2 }),
        ),
        command_error::<InventoryCommand>(
            "ConsumeStock",
            json!({ "item": ITEM, "site": "crossroads" }),
        ),
        command_error::<InventoryCommand>(
            "ConsumeStock",
            json!({ "item": ITEM, "site": "crossroads", "qty": 2.5 }),
        ),
        command_error::<InventoryCommand>("AddItem", json!({ "item": ITEM })),
        command_error::<InventoryCommand>("RetireItem", json!(null)),
        command_error::<BankCommand>("Deposit", json!({ "account": ACCOUNT, "amount": 12.34 })),
        command_error::<BankCommand>("Deposit", json!({ "account": ACCOUNT, "amount": "100" })),
        command_error::<BankCommand>("Transfer", json!({ "from": ACCOUNT, "amount": 1 })),
    ];
    for code in cases {
        assert_eq!(code, "invalid_command");
    }
}

// The envelope on the wire.

fn consumed_envelope(position: Option<u64>) -> Envelope<InventoryEvent> {
    Envelope {
        id: uuid("4b8c2d5e-6f70-4b92-8da4-b5c6d7e8f90a"),
        stream: format!("item-{ITEM}"),
        version: 3,
        position,
        event: InventoryEvent::StockConsumed(StockConsumed { site: "crossroads".into(), qty: 2 }),
        meta: meta(uuid("e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8091"), "cook", 1_732_370_000_000),
    }
}

#[test]
fn an_envelope_on_the_wire_has_exactly_the_fields_the_spec_names() {
    let text = serde_json::to_string(&consumed_envelope(Some(1042))).expect("serializes");
    let expected = concat!(
        r#"{"id":"4b8c2d5e-6f70-4b92-8da4-b5c6d7e8f90a","#,
        r#""stream":"item-6f1c2a9e-3b7d-4c58-9e21-5d8a0b4f7c13","version":3,"position":1042,"#,
        r#""type":"StockConsumed","schema":1,"data":{"site":"crossroads","qty":2},"#,
        r#""meta":{"command":"e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8091","actor":"cook","#,
        r#""at":1732370000000}}"#,
    );
    assert_eq!(text, expected);
}

#[test]
fn an_optimistic_envelope_has_no_position_field() {
    let envelope = consumed_envelope(None);
    let written = serde_json::to_value(&envelope).expect("serializes");
    let fields: BTreeSet<&str> =
        written.as_object().expect("an object").keys().map(String::as_str).collect();
    let expected = ["id", "stream", "version", "type", "schema", "data", "meta"];
    assert_eq!(fields, expected.into_iter().collect());

    let read: Envelope<InventoryEvent> =
        serde_json::from_value(written).expect("reads back without a position");
    assert_eq!(read.position, None);
    assert_eq!(read, envelope);
}

#[test]
fn a_recorded_envelope_reads_back_as_it_was_written() {
    let envelope = consumed_envelope(Some(1042));
    let text = serde_json::to_string(&envelope).expect("serializes");
    let read: Envelope<InventoryEvent> = serde_json::from_str(&text).expect("reads back");
    assert_eq!(read, envelope);
    let raw: Envelope = serde_json::from_str(&text).expect("reads as raw JSON");
    assert_eq!(raw.decode::<InventoryEvent>(), Ok(envelope.clone()));
    assert_eq!(envelope.to_raw(), raw);
}

// A replica as a browser stores it.

/// Where the saved replicas are kept.
fn saved_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/saved").join(name)
}

/// The ids of the saved replica's commands.
fn saved_id(n: u128) -> Uuid {
    Uuid::from_u128(0x5a7e_d000_0000_4000_8000_0000_0000_0000 + n)
}

/// Milk, 10 litres received then 5 used by a clerk; offline, the cook used 3, tried to use 6
/// (refused once the clerk's use arrived), renamed the milk and undid the rename.
fn saved_replica() -> Replica<Inventory> {
    let milk = uuid(ITEM);
    let at = |n: u128| 1_732_370_000_000 + n as i64 * 60_000;
    let mut log = MemoryLog::<Inventory>::default();
    let add = AddItem { item: milk, name: "Milk".into(), unit: "l".into(), reorder_level: 2 };
    let receive = ReceiveStock { item: milk, site: "north".into(), qty: 10, note: None };
    let consume = |qty| {
        InventoryCommand::ConsumeStock(ConsumeStock { item: milk, site: "north".into(), qty })
    };
    let given = [InventoryCommand::AddItem(add), InventoryCommand::ReceiveStock(receive)];
    for (n, command) in (1..).zip(&given) {
        let result = log.submit(command, &meta(saved_id(n), "cook", at(n - 1)), None);
        assert!(matches!(result, CommandResult::Accepted { .. }));
    }
    let mut replica = Replica::<Inventory>::new();
    replica.receive(log.after(0)).expect("no gap");
    let run = |replica: &mut Replica<Inventory>, n, command| {
        replica.execute(command, meta(saved_id(n), "cook", at(n))).expect("holds offline");
    };
    run(&mut replica, 10, consume(3));
    run(&mut replica, 11, consume(6));
    let rename = RenameItem { item: milk, name: "Whole milk".into(), from: None };
    run(&mut replica, 12, InventoryCommand::RenameItem(rename));
    replica.undo(meta(saved_id(13), "cook", at(13))).expect("the rename can be undone");
    let used = log.submit(&consume(5), &meta(saved_id(3), "clerk", at(3)), None);
    assert!(matches!(used, CommandResult::Accepted { .. }));
    let rebased = replica.receive(log.after(2)).expect("no gap");
    assert_eq!(rebased.rejected, [saved_id(11)]);
    replica
}

#[test]
fn a_saved_replica_is_written_as_its_golden_file() {
    let path = saved_file("inventory.json");
    let written: Value =
        serde_json::from_str(&annals_core::json::to_string(&saved_replica().save()))
            .expect("a saved replica is JSON");
    if std::env::var_os("ANNALS_BLESS").is_some() {
        let pretty = serde_json::to_string_pretty(&written).expect("JSON") + "\n";
        std::fs::write(&path, pretty).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; `ANNALS_BLESS=1 cargo test -p annals-conformance --test golden` writes it",
            path.display()
        )
    });
    let golden: Value = serde_json::from_str(&text).expect("the golden file is JSON");
    assert_eq!(written, golden, "a replica is saved differently: a stored one must still load");
    let pending = &golden["pending"];
    assert_eq!(pending[2]["undo_of"], json!(saved_id(12)), "the undo is tied to the rename");
    assert_eq!(
        golden["redo"],
        json!([{
            "command": { "type": "RenameItem", "data": { "item": ITEM, "name": "Whole milk" } },
            "undone_by": saved_id(13),
        }])
    );
}

#[test]
fn a_replica_saved_before_undos_were_tied_loads_with_nothing_tied() {
    let text = std::fs::read_to_string(saved_file("inventory-untied.json")).expect("the file");
    let saved: Saved<Inventory> = annals_core::json::from_str(&text).expect("it still loads");
    let (mut restored, stale) = Replica::restore(saved);
    let now = saved_replica();

    assert!(!stale);
    assert_eq!(restored.confirmed_views(), now.confirmed_views());
    assert_eq!(restored.rejected(), now.rejected());
    let shown = |replica: &Replica<Inventory>| {
        let pending = replica.pending().iter();
        pending.map(|p| (p.meta.command, p.events.clone())).collect::<Vec<_>>()
    };
    assert_eq!(shown(&restored), shown(&now));
    assert!(restored.pending().iter().all(|p| p.tie.is_none()));
    // The undo older code queued goes as it was made: a rename back, on no condition.
    let rename_back = RenameItem { item: uuid(ITEM), name: "Milk".into(), from: None };
    assert_eq!(restored.pending()[2].command, InventoryCommand::RenameItem(rename_back));
    let ties: Vec<_> = now.pending().iter().map(|p| p.tie).collect();
    assert_eq!(ties, [None, None, Some(Tie::UndoOf(saved_id(12)))]);
    // Nothing waits, as before; what was undone can be redone, untied.
    assert_eq!(restored.outbox().len(), 3);
    assert_eq!(now.outbox().len(), 2, "the undo waits for the rename");
    assert_eq!(restored.can_undo_redo(), (true, true));
    restored.redo(meta(saved_id(14), "cook", 0)).expect("the rename is redone");
    assert_eq!(restored.pending().last().map(|p| p.tie), Some(None));
}
