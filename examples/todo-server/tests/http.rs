//! The to-do server over HTTP, on SQLite and on PostgreSQL: every command through
//! `POST /v1/commands`, the views `todos` and `counts`, a to-do's state, rejections, retries;
//! and the real binary.

use std::time::Duration;

use annals_server::on_both_backends;
use annals_server::testing::{
    Api, Backend, ServerProcess, TempDir, assert_error, command, run_scenario,
};
use annals_todo::Todo;
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(a_todo_list => a_todo_list_sqlite, a_todo_list_postgres);
on_both_backends!(rejections => rejections_sqlite, rejections_postgres);
on_both_backends!(retried_commands => retried_commands_sqlite, retried_commands_postgres);

const MILK: Uuid = Uuid::from_u128(1);
const BREAD: Uuid = Uuid::from_u128(2);
const EGGS: Uuid = Uuid::from_u128(3);

fn stream(todo: Uuid) -> String {
    format!("todo-{todo}")
}

fn add(todo: Uuid, title: &str) -> Value {
    command("AddTodo", json!({ "todo": todo, "title": title }))
}

fn edit(todo: Uuid, title: &str) -> Value {
    command("EditTodo", json!({ "todo": todo, "title": title }))
}

fn toggle(todo: Uuid, completed: bool) -> Value {
    command("ToggleTodo", json!({ "todo": todo, "completed": completed }))
}

fn toggle_all(todos: &[Uuid], completed: bool) -> Value {
    command("ToggleAll", json!({ "todos": todos, "completed": completed }))
}

fn clear_completed(todos: &[Uuid]) -> Value {
    command("ClearCompleted", json!({ "todos": todos }))
}

fn delete(todo: Uuid) -> Value {
    command("DeleteTodo", json!({ "todo": todo }))
}

/// Pushes one command that must be accepted; returns its events' `(stream, type, data)`.
async fn accepted(api: &Api, command: Value) -> Vec<(String, String, Value)> {
    let reply = api.push_accepted(&[command]).await;
    let events = reply["results"][0]["events"].as_array().expect("events").clone();
    let part = |event: &Value, name: &str| event[name].as_str().expect(name).to_owned();
    events.iter().map(|e| (part(e, "stream"), part(e, "type"), e["data"].clone())).collect()
}

/// Pushes one command that must be rejected with `code`; returns the result.
async fn rejected(api: &Api, command: Value, code: &str) -> Value {
    let result = api.push(std::slice::from_ref(&command)).await.ok()["results"][0].clone();
    let message = result["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "a rejection has a message: {result}");
    let expected = json!({ "status": "rejected", "id": command["id"], "code": code,
                           "message": message });
    assert_eq!(result, expected);
    result
}

/// The value of a view.
async fn view(api: &Api, name: &str) -> Value {
    api.view(name).await["value"].clone()
}

/// The value of `todos`: each to-do's title and completed flag, by id.
async fn todos(api: &Api) -> Value {
    let mut rows = view(api, "todos").await;
    for row in rows.as_object_mut().expect("todos is an object").values_mut() {
        assert!(row["added_at"].as_i64().is_some_and(|at| at > 0), "{row}");
        row.as_object_mut().expect("a row").remove("added_at");
    }
    rows
}

fn row(title: &str, completed: bool) -> Value {
    json!({ "title": title, "completed": completed })
}

async fn a_todo_list(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Todo>().await.api;
    assert_eq!(view(&api, "todos").await, json!({}));
    assert_eq!(view(&api, "counts").await, Value::Null);

    // Add, edit, toggle.
    let added = accepted(&api, add(MILK, "  Buy milk ")).await;
    let milk = stream(MILK);
    assert_eq!(added, [(milk.clone(), "TodoAdded".into(), json!({ "title": "Buy milk" }))]);
    accepted(&api, add(BREAD, "Bake bread")).await;
    accepted(&api, add(EGGS, "Boil eggs")).await;
    accepted(&api, edit(MILK, "Buy oat milk")).await;
    let toggled = accepted(&api, toggle(BREAD, true)).await;
    assert_eq!(toggled, [(stream(BREAD), "TodoToggled".into(), json!({ "completed": true }))]);
    assert!(accepted(&api, toggle(BREAD, true)).await.is_empty(), "already completed");
    assert_eq!(
        todos(&api).await,
        json!({
            MILK.to_string(): row("Buy oat milk", false),
            BREAD.to_string(): row("Bake bread", true),
            EGGS.to_string(): row("Boil eggs", false),
        })
    );
    assert_eq!(view(&api, "counts").await, json!({ "active": 2, "completed": 1 }));

    // Toggle all: one command, one event per to-do that changes.
    let all = accepted(&api, toggle_all(&[MILK, BREAD, EGGS], true)).await;
    let streams: Vec<&str> = all.iter().map(|(stream, _, _)| stream.as_str()).collect();
    assert_eq!(streams, [stream(MILK), stream(EGGS)]);
    assert_eq!(view(&api, "counts").await, json!({ "active": 0, "completed": 3 }));
    accepted(&api, toggle(EGGS, false)).await;

    // Clear completed, delete.
    let cleared = accepted(&api, clear_completed(&[MILK, BREAD, EGGS])).await;
    let types: Vec<(&str, &str)> =
        cleared.iter().map(|(s, t, _)| (s.as_str(), t.as_str())).collect();
    assert_eq!(types, [(milk.as_str(), "TodoDeleted"), (stream(BREAD).as_str(), "TodoDeleted")]);
    assert_eq!(todos(&api).await, json!({ EGGS.to_string(): row("Boil eggs", false) }));
    assert_eq!(view(&api, "counts").await, json!({ "active": 1, "completed": 0 }));
    accepted(&api, delete(EGGS)).await;
    assert_eq!(todos(&api).await, json!({}));
    assert_eq!(view(&api, "counts").await, json!({ "active": 0, "completed": 0 }));

    // A to-do's state, now and at a version; its stream keeps every event.
    let state = api.get(&format!("/v1/streams/{milk}/state")).await.ok();
    let milk_state = |title: &str, completed: bool, deleted: bool| json!({ "title": title, "completed": completed, "deleted": deleted });
    assert_eq!(
        state,
        json!({ "stream": milk, "version": 4, "state": milk_state("Buy oat milk", true, true) })
    );
    let first = api.get(&format!("/v1/streams/{milk}/state?at=1")).await.ok();
    assert_eq!(first["state"], milk_state("Buy milk", false, false));
    let events = api.get(&format!("/v1/streams/{milk}")).await.ok();
    let types: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["TodoAdded", "TodoEdited", "TodoToggled", "TodoDeleted"]);
    assert_eq!(api.log().await.1, 11);
}

async fn rejections(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Todo>().await.api;
    accepted(&api, add(MILK, "Buy milk")).await;
    accepted(&api, add(BREAD, "Bake bread")).await;
    accepted(&api, delete(BREAD)).await;
    let head = api.log().await.1;

    rejected(&api, add(MILK, "Buy milk again"), "todo_exists").await;
    rejected(&api, add(EGGS, " \t "), "empty_title").await;
    rejected(&api, edit(MILK, ""), "empty_title").await;
    rejected(&api, edit(MILK, &"m".repeat(201)), "title_too_long").await;
    rejected(&api, toggle(EGGS, true), "unknown_todo").await;
    rejected(&api, toggle_all(&[MILK, EGGS], true), "unknown_todo").await;
    rejected(&api, clear_completed(&[EGGS]), "unknown_todo").await;
    rejected(&api, edit(BREAD, "Bake rye bread"), "deleted_todo").await;
    rejected(&api, toggle(BREAD, true), "deleted_todo").await;
    rejected(&api, delete(BREAD), "deleted_todo").await;
    assert_eq!(api.log().await.1, head, "a rejection records nothing");

    // A command the domain does not know is refused before it is decided.
    let unknown = api.push(&[command("CompleteTodo", json!({ "todo": MILK }))]).await;
    assert_error(&unknown, 400, "unknown_command_type");
    let invalid = api.push(&[command("AddTodo", json!({ "todo": MILK }))]).await;
    assert_error(&invalid, 400, "invalid_command");
}

/// A command id is decided once: a retry gets the first result, even when deciding it again
/// would now give another.
async fn retried_commands(backend: &Backend) {
    let db = backend.database().await;
    let api = db.app::<Todo>().await.api;
    let early_toggle = toggle(MILK, true);
    let first = rejected(&api, early_toggle.clone(), "unknown_todo").await;
    let add_milk = add(MILK, "Buy milk");
    let added = api.push_accepted(std::slice::from_ref(&add_milk)).await;

    let again = api.push(&[add_milk, early_toggle]).await.ok();
    assert_eq!(again["results"][0], added["results"][0]);
    assert_eq!(again["results"][1], first);
    assert_eq!(api.log().await.1, 1, "the retried add recorded nothing more");
    assert_eq!(view(&api, "counts").await, json!({ "active": 1, "completed": 0 }));
}

/// The binary, started as a user starts it, serves the to-do API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_todos() {
    run_scenario(async {
        let dir = TempDir::new("annals-todo-server");
        let database = format!("sqlite://{}", dir.path().join("todo.db").display());
        let program = env!("CARGO_BIN_EXE_annals-todo-server");
        let server = ServerProcess::start(program, &database, &[], dir.path()).await;
        let health = server.api.get("/healthz").await.ok();
        assert_eq!(health["status"], "ok", "{}", server.log());
        accepted(&server.api, add(MILK, "Buy milk")).await;
        let mut events = server.api.subscribe(0).await;
        let first = events.next_within(Duration::from_secs(10)).await.expect("the first event");
        let envelope: Value = serde_json::from_str(&first.data).expect("an envelope");
        assert_eq!(envelope["type"], "TodoAdded");
        assert_eq!(view(&server.api, "counts").await, json!({ "active": 1, "completed": 0 }));
    })
    .await;
}

/// The program speaks under its own name, and offers no choice of domain when it hosts one.
#[test]
fn the_binary_names_itself_and_hides_the_domain_choice() {
    let binary = env!("CARGO_BIN_EXE_annals-todo-server");
    let help = std::process::Command::new(binary).args(["serve", "--help"]).output();
    let help = String::from_utf8_lossy(&help.expect("the binary runs").stdout).into_owned();
    assert!(help.contains("Usage: annals-todo-server serve"), "{help}");
    assert!(!help.contains("--domain"), "{help}");
    let failed = std::process::Command::new(binary)
        .args(["serve", "--database", "nowhere://x"])
        .output()
        .expect("the binary runs");
    let said = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert!(!failed.status.success());
    assert!(said.starts_with("annals-todo-server: cannot open nowhere://x"), "{said}");
}
