//! The to-do list's rules, one given/when/then test each; then undo by compensating commands,
//! and the read models `todos` and `counts`.

use annals_core::protocol::CommandResult;
use annals_core::testing::{Given, given, given_no_events};
use annals_core::{
    CommandData, Domain, Envelope, MemoryLog, Meta, Reason, Uuid, ViewSet, meta, stream_name,
};
use annals_todo::*;
use serde_json::{Value, json};

const MILK: Uuid = Uuid::from_u128(0x6d696c6b);
const BREAD: Uuid = Uuid::from_u128(0x6272656164);
const EGGS: Uuid = Uuid::from_u128(0x65676773);

fn stream(todo: Uuid) -> String {
    stream_name("todo", &todo)
}

// Events.

fn added(title: &str) -> TodoEvent {
    TodoEvent::TodoAdded { title: title.into() }
}

fn edited(title: &str) -> TodoEvent {
    TodoEvent::TodoEdited { title: title.into() }
}

fn toggled(completed: bool) -> TodoEvent {
    TodoEvent::TodoToggled { completed }
}

fn deleted(completed: bool) -> TodoEvent {
    TodoEvent::TodoDeleted { completed }
}

// Commands.

fn add(todo: Uuid, title: &str) -> TodoCommand {
    TodoCommand::AddTodo { todo, title: title.into() }
}

fn edit(todo: Uuid, title: &str) -> TodoCommand {
    TodoCommand::EditTodo { todo, title: title.into() }
}

fn toggle(todo: Uuid, completed: bool) -> TodoCommand {
    TodoCommand::ToggleTodo { todo, completed }
}

fn toggle_all(todos: &[Uuid], completed: bool) -> TodoCommand {
    TodoCommand::ToggleAll { todos: todos.to_vec(), completed }
}

fn clear_completed(todos: &[Uuid]) -> TodoCommand {
    TodoCommand::ClearCompleted { todos: todos.to_vec() }
}

fn delete(todo: Uuid) -> TodoCommand {
    TodoCommand::DeleteTodo { todo }
}

/// "Buy milk" was added, then `events` happened to it.
fn milk(events: impl IntoIterator<Item = TodoEvent>) -> Given<Todo> {
    let history = std::iter::once(added("Buy milk")).chain(events);
    given::<Todo>(history.map(|event| (stream(MILK), event)))
}

/// Three to-dos: Milk active, Bread completed, Eggs deleted while active.
fn three() -> Given<Todo> {
    given::<Todo>([
        (stream(MILK), added("Buy milk")),
        (stream(BREAD), added("Bake bread")),
        (stream(BREAD), toggled(true)),
        (stream(EGGS), added("Boil eggs")),
        (stream(EGGS), deleted(false)),
    ])
}

/// Decides `command` against `given`: `Ok(event)` is the one event expected on Milk's stream,
/// `Err(code)` the expected rejection.
#[track_caller]
fn check(given: Given<Todo>, command: TodoCommand, expected: Result<TodoEvent, &str>) {
    let then = given.when(command);
    match expected {
        Ok(event) => then.then_expect([(stream(MILK), event)]),
        Err(code) => then.then_reject(code),
    };
}

// AddTodo.

#[test]
fn adding_a_todo_records_its_trimmed_title() {
    let active = TodoItem { title: "Buy milk".into(), completed: false, deleted: false };
    given_no_events::<Todo>()
        .at(1_800_000_000_000)
        .by("ann")
        .when(add(MILK, "  Buy milk\t"))
        .then_expect([(stream(MILK), added("Buy milk"))])
        .then_state(&stream(MILK), &Some(active))
        .then_version(&stream(MILK), 1);
}

#[test]
fn adding_a_todo_that_exists_is_rejected() {
    milk([]).when(add(MILK, "Buy oat milk")).then_reject("todo_exists");
}

#[test]
fn adding_a_deleted_todo_again_is_rejected() {
    milk([deleted(false)]).when(add(MILK, "Buy milk")).then_reject("todo_exists");
}

#[test]
fn titles_are_trimmed_and_1_to_200_characters() {
    let max = "m".repeat(200);
    let too_long = "m".repeat(201);
    let padded_max = format!("  {max}\n");
    let max_accents = "é".repeat(200);
    let cases: [(&str, Result<&str, &str>); 9] = [
        ("Buy milk", Ok("Buy milk")),
        (" Buy milk  ", Ok("Buy milk")),
        ("M", Ok("M")),
        (&max, Ok(&max)),
        (&padded_max, Ok(&max)),
        (&max_accents, Ok(&max_accents)),
        (&too_long, Err("title_too_long")),
        ("", Err("empty_title")),
        (" \t\n ", Err("empty_title")),
    ];
    for (title, expected) in cases {
        check(given_no_events(), add(MILK, title), expected.map(added));
        check(milk([]), edit(MILK, title), expected.map(edited));
    }
}

// EditTodo.

#[test]
fn editing_a_todo_records_the_trimmed_new_title() {
    check(milk([]), edit(MILK, " Buy oat milk "), Ok(edited("Buy oat milk")));
}

#[test]
fn editing_a_completed_todo_is_allowed() {
    check(milk([toggled(true)]), edit(MILK, "Buy oat milk"), Ok(edited("Buy oat milk")));
}

#[test]
fn an_edit_that_empties_the_title_is_rejected_and_the_ui_deletes_instead() {
    check(milk([]), edit(MILK, "   "), Err("empty_title"));
    check(milk([]), delete(MILK), Ok(deleted(false)));
}

// ToggleTodo.

#[test]
fn completing_a_todo_records_it() {
    check(milk([]), toggle(MILK, true), Ok(toggled(true)));
}

#[test]
fn reopening_a_completed_todo_records_it() {
    check(milk([toggled(true)]), toggle(MILK, false), Ok(toggled(false)));
}

#[test]
fn toggling_a_todo_to_the_state_it_has_records_nothing() {
    milk([]).when(toggle(MILK, false)).then_expect_nothing();
    milk([toggled(true)]).when(toggle(MILK, true)).then_expect_nothing();
}

// ToggleAll.

#[test]
fn toggle_all_completes_every_listed_active_todo_and_passes_over_deleted_ones() {
    three()
        .when(toggle_all(&[MILK, BREAD, EGGS], true))
        .then_expect([(stream(MILK), toggled(true))]);
}

#[test]
fn toggle_all_reopens_every_listed_completed_todo() {
    let all_done = given::<Todo>([
        (stream(MILK), added("Buy milk")),
        (stream(MILK), toggled(true)),
        (stream(BREAD), added("Bake bread")),
        (stream(BREAD), toggled(true)),
    ]);
    all_done
        .when(toggle_all(&[MILK, BREAD], false))
        .then_expect([(stream(MILK), toggled(false)), (stream(BREAD), toggled(false))]);
}

#[test]
fn toggle_all_changes_only_the_listed_todos() {
    three().when(toggle_all(&[BREAD], false)).then_expect([(stream(BREAD), toggled(false))]);
}

#[test]
fn toggle_all_names_each_listed_todo_once_however_often_it_is_listed() {
    let command = toggle_all(&[MILK, BREAD, MILK, MILK], true);
    assert_eq!(Todo::streams(&command), [stream(MILK), stream(BREAD)]);
    three().when(command).then_expect([(stream(MILK), toggled(true))]);
}

#[test]
fn toggle_all_with_nothing_to_change_records_nothing() {
    three().when(toggle_all(&[BREAD, EGGS], true)).then_expect_nothing();
    three().when(toggle_all(&[], true)).then_expect_nothing();
}

#[test]
fn toggle_all_listing_an_unknown_todo_is_rejected_whole() {
    let unknown = Uuid::from_u128(404);
    three().when(toggle_all(&[MILK, unknown], true)).then_reject("unknown_todo");
}

// ClearCompleted.

#[test]
fn clearing_completed_deletes_the_listed_completed_todos_only() {
    let todos = given::<Todo>([
        (stream(MILK), added("Buy milk")),
        (stream(MILK), toggled(true)),
        (stream(BREAD), added("Bake bread")),
        (stream(EGGS), added("Boil eggs")),
        (stream(EGGS), toggled(true)),
    ]);
    todos
        .when(clear_completed(&[MILK, BREAD, EGGS, MILK]))
        .then_expect([(stream(MILK), deleted(true)), (stream(EGGS), deleted(true))]);
}

#[test]
fn clearing_completed_passes_over_active_and_deleted_todos() {
    three().when(clear_completed(&[MILK, EGGS])).then_expect_nothing();
}

#[test]
fn clearing_completed_leaves_completed_todos_that_are_not_listed() {
    three().when(clear_completed(&[MILK])).then_expect_nothing();
    three().when(clear_completed(&[BREAD])).then_expect([(stream(BREAD), deleted(true))]);
}

#[test]
fn clearing_completed_listing_an_unknown_todo_is_rejected_whole() {
    let unknown = Uuid::from_u128(404);
    three().when(clear_completed(&[BREAD, unknown])).then_reject("unknown_todo");
}

// DeleteTodo.

#[test]
fn deleting_a_todo_records_whether_it_was_completed() {
    check(milk([]), delete(MILK), Ok(deleted(false)));
    let done = TodoItem { title: "Buy milk".into(), completed: true, deleted: true };
    milk([toggled(true)])
        .when(delete(MILK))
        .then_expect([(stream(MILK), deleted(true))])
        .then_state(&stream(MILK), &Some(done))
        .then_version(&stream(MILK), 3);
}

#[test]
fn every_command_on_one_todo_needs_one_that_was_added_and_not_deleted() {
    let commands = [edit(MILK, "Buy oat milk"), toggle(MILK, true), delete(MILK)];
    let only_bread = || given::<Todo>([(stream(BREAD), added("Bake bread"))]);
    for command in commands {
        check(given_no_events(), command.clone(), Err("unknown_todo"));
        check(only_bread(), command.clone(), Err("unknown_todo"));
        check(milk([deleted(false)]), command, Err("deleted_todo"));
    }
}

#[test]
fn each_rejection_says_why() {
    let unknown = format!("There is no to-do {MILK}.");
    given_no_events::<Todo>()
        .when(edit(MILK, "Buy milk"))
        .then_reject_with("unknown_todo", &unknown);
    let exists = format!("A to-do {MILK} already exists.");
    milk([]).when(add(MILK, "Buy milk")).then_reject_with("todo_exists", &exists);
    let gone = "\"Buy milk\" was deleted.";
    milk([deleted(false)]).when(toggle(MILK, true)).then_reject_with("deleted_todo", gone);
    milk([]).when(edit(MILK, " ")).then_reject_with("empty_title", "A to-do needs a title.");
    let long = "A title has at most 200 characters, not 250.";
    milk([]).when(edit(MILK, &"m".repeat(250))).then_reject_with("title_too_long", long);
    let codes = ["todo_exists", "unknown_todo", "deleted_todo", "empty_title", "title_too_long"];
    assert_eq!(TodoRejection::CODES, codes);
}

#[test]
fn a_command_on_the_wire_is_its_type_and_data() {
    let data = json!({ "todos": [MILK, BREAD], "completed": true }).to_string();
    let command = TodoCommand::decode("ToggleAll", &data).expect("a ToggleAll");
    assert_eq!(command, toggle_all(&[MILK, BREAD], true));
    let unknown = TodoCommand::decode("CompleteTodo", "{}").expect_err("no such command");
    assert_eq!(unknown.code, "unknown_command_type");
}

// Undo: each command's compensation, run through a recorded log.

/// A recorded log of to-dos; each command gets the next id and a later time.
#[derive(Default)]
struct List {
    log: MemoryLog<Todo>,
    commands: u128,
}

impl List {
    /// A list where "Buy milk" was added.
    fn with_milk() -> Self {
        let mut list = List::default();
        list.run(add(MILK, "Buy milk"));
        list
    }

    /// The metadata of the next command: the next id, a minute later.
    fn next(&mut self) -> Meta {
        self.commands += 1;
        meta(Uuid::from_u128(self.commands), "me", at(self.commands))
    }

    /// Records `command`, which must be accepted, and returns its events.
    #[track_caller]
    fn run(&mut self, command: TodoCommand) -> Vec<Envelope<TodoEvent>> {
        let meta = self.next();
        self.submit(command, &meta)
    }

    #[track_caller]
    fn submit(&mut self, command: TodoCommand, meta: &Meta) -> Vec<Envelope<TodoEvent>> {
        match self.log.submit(&command, meta, None) {
            CommandResult::Accepted { events, .. } => events,
            CommandResult::Rejected { code, message, .. } => {
                panic!("{command:?} was rejected: {code}: {message}")
            }
        }
    }

    /// Records `command`, then the command that undoes it (decided from the states before
    /// `command`), and returns that compensation.
    #[track_caller]
    fn run_and_undo(&mut self, command: TodoCommand) -> TodoCommand {
        let meta = self.next();
        let undo = self.log.compensation(&command, &meta);
        self.submit(command.clone(), &meta);
        let undo = undo.unwrap_or_else(|| panic!("{command:?} has no compensation"));
        self.run(undo.clone());
        undo
    }

    fn todo(&self, todo: Uuid) -> TodoItem {
        self.log.state(&stream(todo)).state.expect("the to-do was added")
    }

    fn views(&self) -> ViewSet<Todo> {
        ViewSet::fold(self.log.events())
    }
}

/// Records `setup` and `command`, undoes `command`, and checks the compensation was `undo` and
/// left Milk as it was before `command`.
#[track_caller]
fn check_undo(setup: &[TodoCommand], command: TodoCommand, undo: TodoCommand) {
    let mut list = List::with_milk();
    for command in setup {
        list.run(command.clone());
    }
    let before = list.todo(MILK);
    assert_eq!(list.run_and_undo(command), undo);
    assert_eq!(list.todo(MILK), before, "undo restores the to-do");
}

#[test]
fn undoing_an_edit_restores_the_previous_title() {
    check_undo(
        &[edit(MILK, "Buy oat milk")],
        edit(MILK, "Buy soy milk"),
        edit(MILK, "Buy oat milk"),
    );
}

#[test]
fn undoing_a_toggle_restores_the_previous_state() {
    check_undo(&[], toggle(MILK, true), toggle(MILK, false));
    check_undo(&[toggle(MILK, true)], toggle(MILK, false), toggle(MILK, true));
}

#[test]
fn undoing_an_added_todo_deletes_it_and_keeps_its_history() {
    let mut list = List::default();
    assert_eq!(list.run_and_undo(add(MILK, "Buy milk")), delete(MILK));
    assert!(list.todo(MILK).deleted);
    assert_eq!(list.log.stream(&stream(MILK)).len(), 2, "undo appends, never removes");
}

#[test]
fn toggle_all_clear_completed_and_delete_cannot_be_undone() {
    for command in [toggle_all(&[MILK], true), clear_completed(&[MILK]), delete(MILK)] {
        assert_eq!(milk([toggled(true)]).compensation(&command), None, "{command:?}");
    }
    // Nor over an empty list, which names no stream at all.
    for command in [toggle_all(&[], true), clear_completed(&[])] {
        assert_eq!(milk([]).compensation(&command), None, "{command:?}");
    }
}

#[test]
fn a_command_on_a_todo_that_did_not_exist_has_nothing_to_restore() {
    let nothing = given_no_events::<Todo>();
    assert_eq!(nothing.compensation(&edit(MILK, "Buy milk")), None);
    assert_eq!(nothing.compensation(&toggle(MILK, true)), None);
}

// Read models.

fn view(views: &ViewSet<Todo>, name: &str) -> Value {
    let value = views.view(name).expect("the to-do list has this view").value();
    serde_json::from_str(value.get()).expect("a view is JSON")
}

fn at(command: u128) -> i64 {
    1_732_370_000_000 + 60_000 * command as i64
}

#[test]
fn the_todo_list_has_two_views() {
    let names: Vec<&str> =
        ViewSet::<Todo>::default().names().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["todos", "counts"]);
}

#[test]
fn todos_shows_each_todo_with_its_title_state_and_time_added() {
    let mut list = List::with_milk();
    list.run(add(BREAD, "Bake bread"));
    list.run(edit(MILK, "Buy oat milk"));
    list.run(toggle(BREAD, true));
    assert_eq!(
        view(&list.views(), "todos"),
        json!({
            MILK.to_string(): { "title": "Buy oat milk", "completed": false, "added_at": at(1) },
            BREAD.to_string(): { "title": "Bake bread", "completed": true, "added_at": at(2) },
        })
    );
}

#[test]
fn a_deleted_todo_leaves_todos() {
    let mut list = List::with_milk();
    list.run(add(BREAD, "Bake bread"));
    list.run(toggle(BREAD, true));
    list.run(delete(MILK));
    list.run(clear_completed(&[BREAD]));
    assert_eq!(view(&list.views(), "todos"), json!({}));
    let todos = list.views();
    let todos = todos.view("todos").expect("todos");
    assert_eq!(todos.get(&MILK.to_string()), None);
}

#[test]
fn counts_is_null_until_the_first_todo() {
    assert_eq!(view(&List::default().views(), "counts"), Value::Null);
    assert_eq!(view(&List::with_milk().views(), "counts"), json!({ "active": 1, "completed": 0 }));
}

#[test]
fn counts_follows_every_command() {
    let mut list = List::default();
    let expect = |list: &mut List, command: TodoCommand, active: u64, completed: u64| {
        list.run(command.clone());
        let views = list.views();
        let counts = views.table::<Counts>().and_then(|counts| counts.single());
        assert_eq!(counts, Some(&CountsRow { active, completed }), "after {command:?}");
    };
    expect(&mut list, add(MILK, "Buy milk"), 1, 0);
    expect(&mut list, add(BREAD, "Bake bread"), 2, 0);
    expect(&mut list, add(EGGS, "Boil eggs"), 3, 0);
    expect(&mut list, edit(EGGS, "Boil two eggs"), 3, 0);
    expect(&mut list, toggle(MILK, true), 2, 1);
    expect(&mut list, toggle(MILK, true), 2, 1);
    expect(&mut list, toggle_all(&[MILK, BREAD, EGGS], true), 0, 3);
    expect(&mut list, toggle(BREAD, false), 1, 2);
    expect(&mut list, delete(BREAD), 0, 2);
    expect(&mut list, toggle_all(&[MILK, BREAD, EGGS], false), 2, 0);
    expect(&mut list, toggle(EGGS, true), 1, 1);
    expect(&mut list, clear_completed(&[MILK, BREAD, EGGS]), 1, 0);
    expect(&mut list, delete(MILK), 0, 0);
}

#[test]
fn counts_agrees_with_the_todos_it_counts() {
    let mut list = List::default();
    let ids: Vec<Uuid> = (1..=6).map(Uuid::from_u128).collect();
    for (i, id) in ids.iter().enumerate() {
        list.run(add(*id, &format!("To-do {i}")));
    }
    list.run(toggle_all(&ids[..4], true));
    list.run(toggle(ids[0], false));
    list.run(delete(ids[5]));
    list.run(clear_completed(&ids[2..]));
    let views = list.views();
    let todos = view(&views, "todos");
    let rows = todos.as_object().expect("todos is an object");
    let completed = rows.values().filter(|row| row["completed"] == json!(true)).count();
    let active = rows.len() - completed;
    assert_eq!((active, completed), (2, 1));
    assert_eq!(view(&views, "counts"), json!({ "active": active, "completed": completed }));
}

#[test]
fn the_views_at_an_earlier_position_are_the_views_then() {
    let mut list = List::with_milk();
    list.run(toggle(MILK, true));
    list.run(delete(MILK));
    let then = ViewSet::<Todo>::at(list.log.events(), 2);
    assert_eq!(then.position(), 2);
    assert_eq!(view(&then, "counts"), json!({ "active": 0, "completed": 1 }));
    let milk = &view(&then, "todos")[MILK.to_string()];
    assert_eq!(milk["completed"], json!(true));
}
