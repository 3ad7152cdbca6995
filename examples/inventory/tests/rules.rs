//! The inventory's rules (SPEC section 3), one given/when/then test each; then undo by
//! compensating commands, and the read models `stock`, `low_stock`, `activity`, `history` and
//! `reorders`.

use annals_core::protocol::CommandResult;
use annals_core::testing::{Given, given, given_no_events, raw};
use annals_core::{CommandData, Envelope, MemoryLog, Uuid, ViewSet, meta, stream_name};
use annals_inventory::*;
use serde_json::{Value, json};

const MILK: Uuid = Uuid::from_u128(0x6d696c6b);
const FLOUR: Uuid = Uuid::from_u128(0x666c6f7572);
const CROSSROADS: &str = "crossroads";
const HILLTOP: &str = "hilltop";

fn item_stream(item: Uuid) -> String {
    stream_name("item", &item)
}

fn milk_stream() -> String {
    item_stream(MILK)
}

/// Milk (litres, reorder level 10) holding `stock` per site.
fn milk_item(stock: &[(&str, i64)]) -> Item {
    let mut item =
        Item { name: "Milk".into(), unit: "l".into(), reorder_level: 10, ..Item::default() };
    for (site, qty) in stock {
        item.stock.insert((*site).to_owned(), *qty);
    }
    item
}

#[test]
fn receiving_stock_adds_to_the_sites_state() {
    milk([received(CROSSROADS, 5)])
        .at(1_800_000_000_000)
        .by("cook")
        .when(receive(MILK, CROSSROADS, 2))
        .then_expect([(milk_stream(), received(CROSSROADS, 2))])
        .then_state(&milk_stream(), &Some(milk_item(&[(CROSSROADS, 7)])))
        .then_version(&milk_stream(), 3);
}

// Events.

fn added(name: &str, unit: &str, reorder_level: i64) -> InventoryEvent {
    InventoryEvent::ItemAdded(ItemAdded { name: name.into(), unit: unit.into(), reorder_level })
}

fn renamed(name: &str) -> InventoryEvent {
    InventoryEvent::ItemRenamed(ItemRenamed { name: name.into() })
}

fn received(site: &str, qty: i64) -> InventoryEvent {
    InventoryEvent::StockReceived(StockReceived { site: site.into(), qty, note: None })
}

fn consumed(site: &str, qty: i64) -> InventoryEvent {
    InventoryEvent::StockConsumed(StockConsumed { site: site.into(), qty })
}

fn counted(site: &str, counted: i64, delta: i64) -> InventoryEvent {
    InventoryEvent::StockCounted(StockCounted { site: site.into(), counted, delta })
}

fn retired() -> InventoryEvent {
    InventoryEvent::ItemRetired(ItemRetired {})
}

fn reorder_requested(site: &str, held: i64, reorder_level: i64) -> InventoryEvent {
    InventoryEvent::ReorderRequested(ReorderRequested { site: site.into(), held, reorder_level })
}

// Commands.

fn add(item: Uuid, name: &str, unit: &str, reorder_level: i64) -> InventoryCommand {
    InventoryCommand::AddItem(AddItem { item, name: name.into(), unit: unit.into(), reorder_level })
}

fn rename(item: Uuid, name: &str) -> InventoryCommand {
    InventoryCommand::RenameItem(RenameItem { item, name: name.into(), from: None })
}

/// A rename on the condition that the item is called `from`.
fn rename_from(item: Uuid, name: &str, from: &str) -> InventoryCommand {
    let (name, from) = (name.into(), Some(from.into()));
    InventoryCommand::RenameItem(RenameItem { item, name, from })
}

fn receive(item: Uuid, site: &str, qty: i64) -> InventoryCommand {
    InventoryCommand::ReceiveStock(ReceiveStock { item, site: site.into(), qty, note: None })
}

fn consume(item: Uuid, site: &str, qty: i64) -> InventoryCommand {
    InventoryCommand::ConsumeStock(ConsumeStock { item, site: site.into(), qty })
}

fn count(item: Uuid, site: &str, counted: i64) -> InventoryCommand {
    InventoryCommand::CountStock(CountStock { item, site: site.into(), counted, from: None })
}

/// A count on the condition that the site holds `from`.
fn count_from(item: Uuid, site: &str, counted: i64, from: i64) -> InventoryCommand {
    let site = site.into();
    InventoryCommand::CountStock(CountStock { item, site, counted, from: Some(from) })
}

fn retire(item: Uuid) -> InventoryCommand {
    InventoryCommand::RetireItem(RetireItem { item })
}

fn request_reorder(item: Uuid, site: &str) -> InventoryCommand {
    InventoryCommand::RequestReorder(RequestReorder { item, site: site.into() })
}

/// Milk was added ("Milk", litres, reorder level 10), then `events` happened to it.
fn milk(events: impl IntoIterator<Item = InventoryEvent>) -> Given<Inventory> {
    let history = std::iter::once(added("Milk", "l", 10)).chain(events);
    given::<Inventory>(history.map(|event| (milk_stream(), event)))
}

/// Decides `command` against `given`: `Ok(event)` is the one event expected on Milk's stream,
/// `Err(code)` the expected rejection.
#[track_caller]
fn check(
    given: Given<Inventory>,
    command: InventoryCommand,
    expected: Result<InventoryEvent, &str>,
) {
    let then = given.when(command);
    match expected {
        Ok(event) => {
            then.then_expect([(milk_stream(), event)]);
        }
        Err(code) => {
            then.then_reject(code);
        }
    }
}

// AddItem.

#[test]
fn adding_an_item_records_its_name_unit_and_reorder_level() {
    given_no_events::<Inventory>()
        .when(add(MILK, "Milk", "l", 10))
        .then_expect([(milk_stream(), added("Milk", "l", 10))]);
}

#[test]
fn adding_an_item_trims_its_name_and_unit() {
    given_no_events::<Inventory>()
        .when(add(MILK, "  Milk\t", " l ", 10))
        .then_expect([(milk_stream(), added("Milk", "l", 10))]);
}

#[test]
fn adding_an_item_that_exists_is_rejected() {
    milk([]).when(add(MILK, "Oat milk", "l", 4)).then_reject("item_exists");
}

#[test]
fn adding_a_retired_item_again_is_rejected() {
    milk([retired()]).when(add(MILK, "Milk", "l", 10)).then_reject("item_exists");
}

#[test]
fn item_names_are_trimmed_and_1_to_100_characters() {
    let hundred = "m".repeat(100);
    let hundred_and_one = "m".repeat(101);
    let padded_hundred = format!("  {hundred}  ");
    let hundred_accents = "é".repeat(100);
    let cases: [(&str, Result<&str, &str>); 9] = [
        ("Milk", Ok("Milk")),
        (" Milk  ", Ok("Milk")),
        ("M", Ok("M")),
        (&hundred, Ok(&hundred)),
        (&padded_hundred, Ok(&hundred)),
        (&hundred_accents, Ok(&hundred_accents)),
        (&hundred_and_one, Err("invalid_name")),
        ("", Err("invalid_name")),
        (" \t\n ", Err("invalid_name")),
    ];
    for (name, expected) in cases {
        check(
            given_no_events(),
            add(MILK, name, "l", 10),
            expected.map(|name| added(name, "l", 10)),
        );
        check(milk([]), rename(MILK, name), expected.map(renamed));
    }
}

#[test]
fn units_are_trimmed_and_1_to_20_characters() {
    let twenty = "u".repeat(20);
    let cases: [(&str, Result<&str, &str>); 5] = [
        ("kg", Ok("kg")),
        (" each ", Ok("each")),
        (&twenty, Ok(&twenty)),
        (&"u".repeat(21), Err("invalid_unit")),
        ("  ", Err("invalid_unit")),
    ];
    for (unit, expected) in cases {
        check(
            given_no_events(),
            add(MILK, "Milk", unit, 10),
            expected.map(|unit| added("Milk", unit, 10)),
        );
    }
}

#[test]
fn a_reorder_level_is_zero_or_more() {
    for (level, expected) in [(0, Ok(0)), (1, Ok(1)), (-1, Err("invalid_quantity"))] {
        check(
            given_no_events(),
            add(MILK, "Milk", "l", level),
            expected.map(|level| added("Milk", "l", level)),
        );
    }
}

#[test]
fn an_item_added_without_a_unit_or_reorder_level_counts_each_from_zero() {
    let command =
        InventoryCommand::decode("AddItem", &raw(json!({ "item": MILK, "name": "Napkins" })))
            .expect("AddItem needs only item and name");
    given_no_events::<Inventory>()
        .when(command)
        .then_expect([(milk_stream(), added("Napkins", "each", 0))]);
}

// RenameItem.

#[test]
fn renaming_an_item_records_the_trimmed_new_name() {
    milk([])
        .when(rename(MILK, " Whole milk "))
        .then_expect([(milk_stream(), renamed("Whole milk"))]);
}

#[test]
fn renaming_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>().when(rename(MILK, "Whole milk")).then_reject("unknown_item");
}

#[test]
fn renaming_a_retired_item_is_rejected() {
    milk([retired()]).when(rename(MILK, "Whole milk")).then_reject("item_retired");
}

#[test]
fn renaming_on_the_condition_of_the_name_the_item_has_records_the_new_name() {
    milk([])
        .when(rename_from(MILK, "Whole milk", " Milk "))
        .then_expect([(milk_stream(), renamed("Whole milk"))]);
}

#[test]
fn renaming_on_the_condition_of_a_name_the_item_no_longer_has_is_rejected() {
    milk([renamed("Oat milk")])
        .when(rename_from(MILK, "Milk", "Whole milk"))
        .then_reject_with("name_changed", "The item is called Oat milk now, not Whole milk.");
}

// ReceiveStock.

#[test]
fn receiving_stock_records_the_site_and_quantity() {
    milk([])
        .when(receive(MILK, CROSSROADS, 24))
        .then_expect([(milk_stream(), received(CROSSROADS, 24))]);
}

#[test]
fn receiving_stock_keeps_a_trimmed_note_and_drops_a_blank_one() {
    let with_note = |note: &str| {
        InventoryCommand::ReceiveStock(ReceiveStock {
            item: MILK,
            site: CROSSROADS.into(),
            qty: 24,
            note: Some(note.into()),
        })
    };
    let noted = InventoryEvent::StockReceived(StockReceived {
        site: CROSSROADS.into(),
        qty: 24,
        note: Some("delivery 4471".into()),
    });
    check(milk([]), with_note("  delivery 4471 "), Ok(noted));
    check(milk([]), with_note("   "), Ok(received(CROSSROADS, 24)));
}

#[test]
fn receiving_stock_for_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>().when(receive(MILK, CROSSROADS, 24)).then_reject("unknown_item");
}

#[test]
fn receiving_stock_for_a_retired_item_is_rejected() {
    milk([retired()]).when(receive(MILK, CROSSROADS, 24)).then_reject("item_retired");
}

#[test]
fn a_quantity_received_or_consumed_is_more_than_zero() {
    let given = || milk([received(CROSSROADS, 5)]);
    for (qty, expected) in [(1, Ok(1)), (0, Err("invalid_quantity")), (-3, Err("invalid_quantity"))]
    {
        check(
            given(),
            receive(MILK, CROSSROADS, qty),
            expected.map(|qty| received(CROSSROADS, qty)),
        );
        check(
            given(),
            consume(MILK, CROSSROADS, qty),
            expected.map(|qty| consumed(CROSSROADS, qty)),
        );
    }
}

#[test]
fn sites_are_trimmed_and_1_to_40_characters() {
    let forty = "s".repeat(40);
    let cases: [(&str, Result<&str, &str>); 6] = [
        ("a", Ok("a")),
        ("  crossroads ", Ok(CROSSROADS)),
        (&forty, Ok(&forty)),
        (&"s".repeat(41), Err("invalid_site")),
        ("", Err("invalid_site")),
        ("   ", Err("invalid_site")),
    ];
    for (site, expected) in cases {
        // Each site holds 5, so consuming 1 and counting 0 depend on the site's name alone.
        let stocked = || {
            let site = site.trim();
            milk([received(site, 5)])
        };
        check(stocked(), receive(MILK, site, 1), expected.map(|site| received(site, 1)));
        check(stocked(), consume(MILK, site, 1), expected.map(|site| consumed(site, 1)));
        check(stocked(), count(MILK, site, 0), expected.map(|site| counted(site, 0, -5)));
        let requested = expected.map(|site| reorder_requested(site, 5, 10));
        check(stocked(), request_reorder(MILK, site), requested);
    }
}

#[test]
fn receiving_more_than_an_item_total_can_hold_is_rejected() {
    milk([received(CROSSROADS, i64::MAX - 1)])
        .when(receive(MILK, HILLTOP, 2))
        .then_reject("invalid_quantity");
}

// ConsumeStock.

#[test]
fn consuming_stock_records_the_site_and_quantity() {
    milk([received(CROSSROADS, 5)])
        .when(consume(MILK, CROSSROADS, 2))
        .then_expect([(milk_stream(), consumed(CROSSROADS, 2))]);
}

#[test]
fn consuming_everything_the_site_holds_is_allowed() {
    milk([received(CROSSROADS, 5)])
        .when(consume(MILK, CROSSROADS, 5))
        .then_expect([(milk_stream(), consumed(CROSSROADS, 5))]);
}

#[test]
fn consuming_more_than_the_site_holds_is_rejected() {
    milk([received(CROSSROADS, 5)])
        .when(consume(MILK, CROSSROADS, 6))
        .then_reject_with(
            "insufficient_stock",
            "Only 5 l of Milk left at crossroads; cannot use 6.",
        )
        .then_state(&milk_stream(), &Some(milk_item(&[(CROSSROADS, 5)])))
        .then_version(&milk_stream(), 2);
}

#[test]
fn stock_at_another_site_cannot_be_consumed() {
    milk([received(HILLTOP, 50)])
        .when(consume(MILK, CROSSROADS, 1))
        .then_reject("insufficient_stock");
}

#[test]
fn what_a_site_holds_is_received_minus_consumed() {
    milk([received(CROSSROADS, 5), consumed(CROSSROADS, 3)])
        .when(consume(MILK, CROSSROADS, 3))
        .then_reject("insufficient_stock");
}

#[test]
fn consuming_stock_of_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>().when(consume(MILK, CROSSROADS, 1)).then_reject("unknown_item");
}

#[test]
fn consuming_stock_of_a_retired_item_is_rejected() {
    milk([received(CROSSROADS, 5), retired()])
        .when(consume(MILK, CROSSROADS, 1))
        .then_reject("item_retired");
}

// CountStock.

#[test]
fn counting_stock_records_the_count_and_its_difference_from_what_the_site_held() {
    let given = || milk([received(CROSSROADS, 5)]);
    check(given(), count(MILK, CROSSROADS, 3), Ok(counted(CROSSROADS, 3, -2)));
    check(given(), count(MILK, CROSSROADS, 8), Ok(counted(CROSSROADS, 8, 3)));
    check(given(), count(MILK, CROSSROADS, 5), Ok(counted(CROSSROADS, 5, 0)));
}

#[test]
fn counting_zero_empties_the_site() {
    milk([received(CROSSROADS, 5)])
        .when(count(MILK, CROSSROADS, 0))
        .then_expect([(milk_stream(), counted(CROSSROADS, 0, -5))]);
}

#[test]
fn counting_at_a_site_that_held_nothing_yields_the_whole_count() {
    milk([received(HILLTOP, 9)])
        .when(count(MILK, CROSSROADS, 4))
        .then_expect([(milk_stream(), counted(CROSSROADS, 4, 4))]);
}

#[test]
fn a_count_replaces_what_the_site_held() {
    let after_count = || milk([received(CROSSROADS, 5), counted(CROSSROADS, 3, -2)]);
    check(after_count(), consume(MILK, CROSSROADS, 4), Err("insufficient_stock"));
    check(after_count(), consume(MILK, CROSSROADS, 3), Ok(consumed(CROSSROADS, 3)));
}

#[test]
fn a_negative_count_is_rejected() {
    milk([received(CROSSROADS, 5)])
        .when(count(MILK, CROSSROADS, -1))
        .then_reject("invalid_quantity");
}

#[test]
fn counting_more_than_an_item_total_can_hold_is_rejected() {
    milk([received(HILLTOP, i64::MAX)])
        .when(count(MILK, CROSSROADS, 1))
        .then_reject("invalid_quantity");
}

#[test]
fn counting_stock_of_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>().when(count(MILK, CROSSROADS, 3)).then_reject("unknown_item");
}

#[test]
fn counting_stock_of_a_retired_item_is_rejected() {
    milk([retired()]).when(count(MILK, CROSSROADS, 3)).then_reject("item_retired");
}

#[test]
fn counting_on_the_condition_of_what_the_site_holds_records_the_count() {
    let given = || milk([received(CROSSROADS, 5)]);
    check(given(), count_from(MILK, CROSSROADS, 5, 5), Ok(counted(CROSSROADS, 5, 0)));
    check(given(), count_from(MILK, CROSSROADS, 2, 5), Ok(counted(CROSSROADS, 2, -3)));
    check(milk([]), count_from(MILK, HILLTOP, 0, 0), Ok(counted(HILLTOP, 0, 0)));
}

#[test]
fn counting_on_the_condition_of_a_quantity_the_site_no_longer_holds_is_rejected() {
    milk([received(CROSSROADS, 5)])
        .when(count_from(MILK, CROSSROADS, 4, 4))
        .then_reject_with("stock_changed", "crossroads holds 5 l of Milk now, not 4.");
}

// RetireItem.

#[test]
fn retiring_an_item_records_it() {
    milk([received(CROSSROADS, 5)]).when(retire(MILK)).then_expect([(milk_stream(), retired())]);
}

#[test]
fn retiring_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>().when(retire(MILK)).then_reject("unknown_item");
}

#[test]
fn retiring_an_item_twice_is_rejected() {
    milk([retired()]).when(retire(MILK)).then_reject("item_retired");
}

#[test]
fn every_command_but_add_needs_an_item_that_exists_and_is_not_retired() {
    let commands = [
        rename(MILK, "Whole milk"),
        receive(MILK, CROSSROADS, 1),
        consume(MILK, CROSSROADS, 1),
        count(MILK, CROSSROADS, 1),
        retire(MILK),
        request_reorder(MILK, CROSSROADS),
    ];
    let only_flour = || given::<Inventory>([(item_stream(FLOUR), added("Flour", "kg", 2))]);
    for command in commands {
        check(given_no_events(), command.clone(), Err("unknown_item"));
        check(only_flour(), command.clone(), Err("unknown_item"));
        check(milk([received(CROSSROADS, 5), retired()]), command, Err("item_retired"));
    }
}

// RequestReorder.

#[test]
fn requesting_a_reorder_records_what_the_site_holds_and_the_reorder_level() {
    milk([received(CROSSROADS, 6), consumed(CROSSROADS, 2), received(HILLTOP, 30)])
        .when(request_reorder(MILK, " crossroads "))
        .then_expect([(milk_stream(), reorder_requested(CROSSROADS, 4, 10))])
        .then_state(&milk_stream(), &Some(milk_item(&[(CROSSROADS, 4), (HILLTOP, 30)])))
        .then_version(&milk_stream(), 5);
}

#[test]
fn a_reorder_for_a_site_that_never_held_stock_records_zero_held() {
    check(milk([]), request_reorder(MILK, HILLTOP), Ok(reorder_requested(HILLTOP, 0, 10)));
}

#[test]
fn a_reorder_is_recorded_even_when_the_site_is_no_longer_low() {
    check(
        milk([received(CROSSROADS, 12)]),
        request_reorder(MILK, CROSSROADS),
        Ok(reorder_requested(CROSSROADS, 12, 10)),
    );
}

#[test]
fn requesting_a_reorder_of_an_unknown_item_is_rejected() {
    given_no_events::<Inventory>()
        .when(request_reorder(MILK, CROSSROADS))
        .then_reject("unknown_item");
}

#[test]
fn requesting_a_reorder_of_a_retired_item_is_rejected() {
    milk([received(CROSSROADS, 2), retired()])
        .when(request_reorder(MILK, CROSSROADS))
        .then_reject_with("item_retired", "Milk was retired.");
}

#[test]
fn requesting_a_reorder_at_a_site_without_a_name_is_rejected() {
    for site in ["", "   ", &"s".repeat(41)] {
        milk([]).when(request_reorder(MILK, site)).then_reject("invalid_site");
    }
}

// Undo: each command's compensation, run through a recorded log. A compensation takes back
// what its command did and nothing else, so what was recorded in between stays.

/// A recorded log of the inventory; each command gets the next id and a later time.
#[derive(Default)]
struct Kitchen {
    log: MemoryLog<Inventory>,
    commands: u128,
}

impl Kitchen {
    /// A kitchen where Milk was added (litres, reorder level 10).
    fn with_milk() -> Self {
        let mut kitchen = Kitchen::default();
        kitchen.run(add(MILK, "Milk", "l", 10));
        kitchen
    }

    /// Records `command` if it is accepted: its events, or the rejection's code.
    fn submit(
        &mut self,
        command: &InventoryCommand,
    ) -> Result<Vec<Envelope<InventoryEvent>>, String> {
        self.commands += 1;
        let at = 1_732_370_000_000 + 60_000 * self.commands as i64;
        let meta = meta(Uuid::from_u128(self.commands), "cook", at);
        match self.log.submit(command, &meta, None) {
            CommandResult::Accepted { events, .. } => Ok(events),
            CommandResult::Rejected { code, .. } => Err(code),
        }
    }

    /// Records `command`, which must be accepted, and returns its events.
    #[track_caller]
    fn run(&mut self, command: InventoryCommand) -> Vec<Envelope<InventoryEvent>> {
        self.submit(&command).unwrap_or_else(|code| panic!("{command:?} was rejected: {code}"))
    }

    /// Records `command` and returns the command that undoes it (decided from the states
    /// before `command`).
    #[track_caller]
    fn run_to_undo(&mut self, command: InventoryCommand) -> InventoryCommand {
        let meta = meta(Uuid::from_u128(self.commands + 1), "cook", 0);
        let undo = self.log.compensation(&command, &meta);
        self.run(command.clone());
        undo.unwrap_or_else(|| panic!("{command:?} has no compensation"))
    }

    /// Records `command`, then the command that undoes it, and returns that compensation.
    #[track_caller]
    fn run_and_undo(&mut self, command: InventoryCommand) -> InventoryCommand {
        let undo = self.run_to_undo(command);
        self.run(undo.clone());
        undo
    }

    fn milk(&self) -> Item {
        self.log.state(&milk_stream()).state.expect("Milk was added")
    }

    fn views(&self) -> ViewSet<Inventory> {
        ViewSet::fold(self.log.events())
    }
}

/// Records `setup` and `command`, undoes `command`, and checks the compensation was `undo` and
/// left Milk as it was before `command`, with every event kept.
#[track_caller]
fn check_undo(setup: &[InventoryCommand], command: InventoryCommand, undo: InventoryCommand) {
    let mut kitchen = Kitchen::with_milk();
    for command in setup {
        kitchen.run(command.clone());
    }
    let before = kitchen.milk();
    let events = kitchen.log.events().len();
    assert_eq!(kitchen.run_and_undo(command), undo);
    assert_eq!(kitchen.milk(), before, "undo restores the item");
    assert_eq!(kitchen.log.events().len(), events + 2, "undo appends, never deletes");
}

#[test]
fn undoing_a_rename_restores_the_old_name_if_the_item_still_has_the_new_one() {
    check_undo(&[], rename(MILK, " Whole milk "), rename_from(MILK, "Milk", "Whole milk"));
}

#[test]
fn undoing_a_rename_after_another_rename_is_refused_and_keeps_the_other_name() {
    let mut kitchen = Kitchen::with_milk();
    let undo = kitchen.run_to_undo(rename(MILK, "Whole milk"));
    kitchen.run(rename(MILK, "Oat milk"));
    assert_eq!(kitchen.submit(&undo), Err("name_changed".into()));
    assert_eq!(kitchen.milk().name, "Oat milk");
}

#[test]
fn undoing_a_receipt_consumes_the_same_quantity() {
    check_undo(
        &[receive(MILK, CROSSROADS, 2)],
        receive(MILK, " crossroads ", 5),
        consume(MILK, CROSSROADS, 5),
    );
}

#[test]
fn undoing_a_consumption_receives_it_back() {
    check_undo(
        &[receive(MILK, CROSSROADS, 5)],
        consume(MILK, CROSSROADS, 3),
        receive(MILK, CROSSROADS, 3),
    );
}

#[test]
fn undoing_a_count_takes_back_the_difference_it_made() {
    let setup = [receive(MILK, CROSSROADS, 5)];
    check_undo(&setup, count(MILK, CROSSROADS, 2), receive(MILK, CROSSROADS, 3));
    check_undo(&setup, count(MILK, " crossroads ", 8), consume(MILK, CROSSROADS, 3));
}

#[test]
fn undoing_a_count_at_a_new_site_takes_the_count_away() {
    let mut kitchen = Kitchen::with_milk();
    let undo = kitchen.run_and_undo(count(MILK, HILLTOP, 7));
    assert_eq!(undo, consume(MILK, HILLTOP, 7));
    assert_eq!(kitchen.milk().at(HILLTOP), 0);
}

#[test]
fn undoing_a_count_keeps_what_was_received_since() {
    // Issue #17's fourth probe: the count found 2 fewer than the 10 received; 5 more arrived
    // after it. Undoing the count brings back its 2 and keeps the 5.
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 10));
    let undo = kitchen.run_to_undo(count(MILK, CROSSROADS, 8));
    kitchen.run(receive(MILK, CROSSROADS, 5));
    kitchen.run(undo);
    assert_eq!(kitchen.milk().at(CROSSROADS), 15);
}

#[test]
fn undoing_a_count_that_changed_nothing_counts_the_same_while_nothing_moved() {
    check_undo(
        &[receive(MILK, CROSSROADS, 5)],
        count(MILK, CROSSROADS, 5),
        count_from(MILK, CROSSROADS, 5, 5),
    );
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 5));
    let undo = kitchen.run_to_undo(count(MILK, CROSSROADS, 5));
    kitchen.run(consume(MILK, CROSSROADS, 1));
    assert_eq!(kitchen.submit(&undo), Err("stock_changed".into()));
    assert_eq!(kitchen.milk().at(CROSSROADS), 4);
}

#[test]
fn undoing_a_receipt_of_stock_used_since_is_refused() {
    let mut kitchen = Kitchen::with_milk();
    let undo = kitchen.run_to_undo(receive(MILK, CROSSROADS, 5));
    kitchen.run(consume(MILK, CROSSROADS, 2));
    assert_eq!(kitchen.submit(&undo), Err("insufficient_stock".into()));
    assert_eq!(kitchen.milk().at(CROSSROADS), 3);
}

#[test]
fn undoing_an_added_item_retires_it_and_keeps_its_history() {
    let mut kitchen = Kitchen::default();
    let undo = kitchen.run_and_undo(add(MILK, "Milk", "l", 10));
    assert_eq!(undo, retire(MILK));
    assert!(kitchen.milk().retired);
    assert_eq!(kitchen.log.stream(&milk_stream()).len(), 2);
}

#[test]
fn retiring_an_item_cannot_be_undone() {
    let kitchen = Kitchen::with_milk();
    assert_eq!(kitchen.log.compensation(&retire(MILK), &meta(Uuid::nil(), "cook", 0)), None);
}

#[test]
fn a_reorder_request_cannot_be_undone() {
    let kitchen = Kitchen::with_milk();
    let request = request_reorder(MILK, CROSSROADS);
    assert_eq!(kitchen.log.compensation(&request, &meta(Uuid::nil(), "cook", 0)), None);
}

#[test]
fn a_command_on_an_item_that_did_not_exist_has_nothing_to_restore() {
    let nothing = given_no_events::<Inventory>();
    assert_eq!(nothing.compensation(&rename(MILK, "Milk")), None);
    assert_eq!(nothing.compensation(&count(MILK, CROSSROADS, 1)), None);
}

// Read models.

fn view(views: &ViewSet<Inventory>, name: &str) -> Value {
    let value = views.view(name).expect("the inventory has this view").value();
    serde_json::from_str(value.get()).expect("a view is JSON")
}

fn row(views: &ViewSet<Inventory>, name: &str, item: Uuid) -> Option<Value> {
    let view = views.view(name).expect("the inventory has this view");
    view.get(&item.to_string()).map(|row| serde_json::from_str(row.get()).expect("a row is JSON"))
}

#[test]
fn the_inventory_has_five_views() {
    let names: Vec<&str> =
        ViewSet::<Inventory>::default().names().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["stock", "low_stock", "activity", "history", "reorders"]);
}

#[test]
fn stock_shows_each_item_with_its_quantity_per_site_and_total() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 12));
    kitchen.run(receive(MILK, HILLTOP, 5));
    kitchen.run(consume(MILK, CROSSROADS, 2));
    kitchen.run(count(MILK, HILLTOP, 4));
    kitchen.run(rename(MILK, "Whole milk"));
    kitchen.run(add(FLOUR, "Flour", "kg", 3));

    let views = kitchen.views();
    let expected_milk = json!({
        "name": "Whole milk", "unit": "l", "reorder_level": 10,
        "sites": { "crossroads": 10, "hilltop": 4 }, "total": 14, "retired": false,
    });
    assert_eq!(row(&views, "stock", MILK), Some(expected_milk.clone()));
    assert_eq!(
        view(&views, "stock"),
        json!({
            MILK.to_string(): expected_milk,
            FLOUR.to_string(): {
                "name": "Flour", "unit": "kg", "reorder_level": 3,
                "sites": {}, "total": 0, "retired": false,
            },
        })
    );
}

#[test]
fn rows_read_typed_from_rust() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 3));
    kitchen.run(add(FLOUR, "Flour", "kg", 0));
    let views = kitchen.views();
    let stock = views.table::<Stock>().expect("the inventory has stock");
    let milk = stock.row(&MILK.to_string()).expect("Milk is in stock");
    assert_eq!((milk.name.as_str(), milk.total, milk.sites.get(CROSSROADS)), ("Milk", 3, Some(&3)));
    let names: Vec<&str> = stock.rows().map(|(_, row)| row.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    let low: Vec<&str> =
        views.table::<LowStock>().expect("low stock").rows().map(|(key, _)| key).collect();
    assert_eq!(low, [MILK.to_string()], "Milk is below its reorder level of 10; Flour has none");
}

#[test]
fn a_retired_item_stays_in_stock_marked_retired() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 3));
    kitchen.run(retire(MILK));
    let stock = row(&kitchen.views(), "stock", MILK).expect("Milk is in stock");
    assert_eq!(stock["retired"], json!(true));
    assert_eq!(stock["total"], json!(3));
}

#[test]
fn stock_at_an_earlier_position_is_the_stock_then() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 12));
    kitchen.run(consume(MILK, CROSSROADS, 5));
    let then = ViewSet::<Inventory>::at(kitchen.log.events(), 2);
    assert_eq!(then.position(), 2);
    let stock = row(&then, "stock", MILK).expect("Milk is in stock");
    assert_eq!(stock["total"], json!(12));
}

#[test]
fn low_stock_lists_the_items_whose_total_is_below_their_reorder_level() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 6));
    kitchen.run(receive(MILK, HILLTOP, 3));
    kitchen.run(add(FLOUR, "Flour", "kg", 5));
    kitchen.run(receive(FLOUR, CROSSROADS, 5));

    let views = kitchen.views();
    let listed = view(&views, "low_stock");
    let listed: Vec<&String> = listed.as_object().expect("an object by item").keys().collect();
    assert_eq!(listed, [&MILK.to_string()], "9 < 10 is low; 5 of 5 is not");
    let milk = row(&views, "low_stock", MILK).expect("Milk is low");
    assert_eq!(milk["total"], json!(9));
    assert_eq!(row(&views, "low_stock", FLOUR), None);

    kitchen.run(receive(MILK, CROSSROADS, 1));
    assert_eq!(view(&kitchen.views(), "low_stock"), json!({}));
}

#[test]
fn a_retired_item_is_never_low() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(retire(MILK));
    assert_eq!(row(&kitchen.views(), "stock", MILK).map(|m| m["total"].clone()), Some(json!(0)));
    assert_eq!(view(&kitchen.views(), "low_stock"), json!({}));
}

#[test]
fn an_item_without_a_reorder_level_is_never_low() {
    let mut kitchen = Kitchen::default();
    kitchen.run(add(FLOUR, "Flour", "kg", 0));
    assert_eq!(view(&kitchen.views(), "low_stock"), json!({}));
}

#[test]
fn activity_lists_the_events_newest_first() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 12));
    kitchen.run(consume(MILK, CROSSROADS, 2));

    let activity = view(&kitchen.views(), "activity");
    let types: Vec<&Value> = activity
        .as_array()
        .expect("activity is a list")
        .iter()
        .map(|entry| &entry["event"]["type"])
        .collect();
    assert_eq!(types, ["StockConsumed", "StockReceived", "ItemAdded"]);
    assert_eq!(
        activity[0],
        json!({
            "position": 3, "item": MILK.to_string(), "version": 3,
            "event": { "type": "StockConsumed", "data": { "site": "crossroads", "qty": 2 } },
            "actor": "cook", "at": 1_732_370_180_000_i64,
        })
    );
}

#[test]
fn activity_keeps_the_last_200_events() {
    let mut kitchen = Kitchen::with_milk();
    for _ in 0..204 {
        kitchen.run(receive(MILK, CROSSROADS, 1));
    }
    assert_eq!(kitchen.log.head(), 205);

    let activity = view(&kitchen.views(), "activity");
    let entries = activity.as_array().expect("activity is a list");
    assert_eq!(entries.len(), ACTIVITY_LENGTH);
    assert_eq!(ACTIVITY_LENGTH, 200);
    assert_eq!(entries[0]["position"], json!(205));
    assert_eq!(entries[199]["position"], json!(6));
}

#[test]
fn history_records_the_quantity_after_each_change_per_site() {
    let mut kitchen = Kitchen::with_milk(); // position 1
    kitchen.run(receive(MILK, CROSSROADS, 5)); // 2
    kitchen.run(receive(MILK, HILLTOP, 3)); // 3
    kitchen.run(consume(MILK, CROSSROADS, 2)); // 4
    kitchen.run(rename(MILK, "Whole milk")); // 5, no point
    kitchen.run(count(MILK, CROSSROADS, 7)); // 6

    assert_eq!(
        row(&kitchen.views(), "history", MILK),
        Some(json!({
            "crossroads": [[2, 5], [4, 3], [6, 7]],
            "hilltop": [[3, 3]],
        }))
    );
}

#[test]
fn an_item_whose_stock_never_changed_has_no_history() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(rename(MILK, "Whole milk"));
    assert_eq!(row(&kitchen.views(), "history", MILK), None);
}

#[test]
fn folding_the_views_event_by_event_or_at_once_agrees() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 5));
    kitchen.run(count(MILK, CROSSROADS, 2));
    let mut incremental = ViewSet::<Inventory>::default();
    for envelope in kitchen.log.events() {
        incremental.apply(envelope);
    }
    assert_eq!(incremental, kitchen.views());
    assert_eq!(incremental.position(), 3);
}

/// The key of `item` at `site` in `reorders`.
fn reorder_key(item: Uuid, site: &str) -> String {
    format!("{item}/{site}")
}

/// The row of `item` at `site` in `reorders`, whether listed or not.
fn reorder_row(views: &ViewSet<Inventory>, item: Uuid, site: &str) -> Option<ReorderRow> {
    views
        .table::<Reorders>()
        .expect("the inventory has reorders")
        .row(&reorder_key(item, site))
        .cloned()
}

#[test]
fn a_reorder_request_is_open_while_the_site_holds_less_than_the_reorder_level() {
    let mut kitchen = Kitchen::with_milk(); // position 1
    kitchen.run(receive(MILK, CROSSROADS, 12)); // 2
    kitchen.run(consume(MILK, CROSSROADS, 9)); // 3
    kitchen.run(request_reorder(MILK, CROSSROADS)); // 4
    kitchen.run(consume(MILK, CROSSROADS, 1)); // 5

    let open = json!({
        "item": MILK.to_string(), "site": "crossroads", "held": 2, "reorder_level": 10,
        "requested": 4,
    });
    assert_eq!(view(&kitchen.views(), "reorders"), json!({ reorder_key(MILK, CROSSROADS): open }));
    let stock = row(&kitchen.views(), "stock", MILK).expect("Milk is in stock");
    assert_eq!(stock["total"], json!(2), "a request moves no stock");
}

#[test]
fn a_refill_closes_a_reorder_request() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, CROSSROADS, 3));
    kitchen.run(request_reorder(MILK, CROSSROADS));
    kitchen.run(receive(MILK, CROSSROADS, 7));
    assert_eq!(view(&kitchen.views(), "reorders"), json!({}), "10 of 10 is not below the level");
    let closed = reorder_row(&kitchen.views(), MILK, CROSSROADS).expect("the request is kept");
    assert_eq!((closed.held, closed.reorder_level, closed.requested), (10, 10, Some(3)));

    let mut counted = Kitchen::with_milk();
    counted.run(request_reorder(MILK, CROSSROADS));
    counted.run(count(MILK, CROSSROADS, 25));
    assert_eq!(view(&counted.views(), "reorders"), json!({}), "a count of 25 closes it too");
}

#[test]
fn a_later_reorder_request_opens_it_again() {
    let mut kitchen = Kitchen::with_milk(); // position 1
    kitchen.run(request_reorder(MILK, CROSSROADS)); // 2
    kitchen.run(receive(MILK, CROSSROADS, 10)); // 3: closed
    kitchen.run(consume(MILK, CROSSROADS, 4)); // 4
    kitchen.run(request_reorder(MILK, CROSSROADS)); // 5

    let reopened = json!({
        "item": MILK.to_string(), "site": "crossroads", "held": 6, "reorder_level": 10,
        "requested": 5,
    });
    assert_eq!(
        view(&kitchen.views(), "reorders"),
        json!({ reorder_key(MILK, CROSSROADS): reopened })
    );
}

#[test]
fn stock_moved_at_a_site_without_a_reorder_request_makes_no_row() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(receive(MILK, HILLTOP, 5));
    kitchen.run(consume(MILK, HILLTOP, 3));
    kitchen.run(count(MILK, HILLTOP, 1));
    kitchen.run(receive(MILK, CROSSROADS, 1));
    kitchen.run(request_reorder(MILK, CROSSROADS));

    let views = kitchen.views();
    assert_eq!(reorder_row(&views, MILK, HILLTOP), None, "hilltop is low, but nobody asked");
    let keys: Vec<&str> =
        views.table::<Reorders>().expect("reorders").rows().map(|(key, _)| key).collect();
    assert_eq!(keys, [reorder_key(MILK, CROSSROADS)]);
}

#[test]
fn reorder_requests_are_kept_per_item_and_site() {
    let mut kitchen = Kitchen::with_milk();
    kitchen.run(add(FLOUR, "Flour", "kg", 4));
    kitchen.run(request_reorder(MILK, CROSSROADS));
    kitchen.run(request_reorder(MILK, HILLTOP));
    kitchen.run(request_reorder(FLOUR, CROSSROADS));
    kitchen.run(receive(MILK, HILLTOP, 10));

    let listed = view(&kitchen.views(), "reorders");
    let keys: Vec<&String> = listed.as_object().expect("an object by key").keys().collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&&reorder_key(MILK, CROSSROADS)));
    assert!(keys.contains(&&reorder_key(FLOUR, CROSSROADS)));
    assert_eq!(listed[reorder_key(FLOUR, CROSSROADS)]["reorder_level"], json!(4));
}
