//! The to-do list's decider: the rules for each command, and the fold of its events.

use annals_core::{Change, Context, Domain, DynView, Json, Rejection, Table, Uuid, stream_name};

use super::commands::TodoCommand;
use super::events::TodoEvent;
use super::views::{Counts, Todos};

/// The most characters a title has, once trimmed.
pub const TITLE_LENGTH: usize = 200;

/// The to-do domain. Its streams are `todo-<uuid>`, one per to-do.
///
/// - `AddTodo` records `TodoAdded` with the trimmed title; `todo_exists` if the id was ever
///   used, even by a deleted to-do.
/// - `EditTodo` records `TodoEdited` with the trimmed title.
/// - `ToggleTodo` records `TodoToggled` when the to-do's state changes, and nothing when it
///   already is as asked.
/// - `ToggleAll` records one `TodoToggled` per listed to-do whose state changes;
///   `ClearCompleted` one `TodoDeleted` per listed completed to-do. Both pass over deleted
///   to-dos and count each to-do once however often it is listed.
/// - `DeleteTodo` records `TodoDeleted`, with whether the to-do was completed.
///
/// See [`TodoRejection`] for why a command is refused. Undo: an added to-do is deleted, an
/// edit or a toggle is reverted; the other commands cannot be undone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Todo;

/// A to-do's decided state (`None` in [`Todo`]'s `State` until it is added).
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct TodoItem {
    /// Its title.
    pub title: String,
    /// Whether it is done.
    pub completed: bool,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// Why a to-do command is refused.
#[derive(Clone, Debug, PartialEq, Rejection)]
pub enum TodoRejection {
    /// The id was used before, even by a to-do since deleted.
    #[rejection("A to-do {0} already exists.")]
    TodoExists(Uuid),
    /// No to-do has this id.
    #[rejection("There is no to-do {0}.")]
    UnknownTodo(Uuid),
    /// The to-do was deleted.
    #[rejection("\"{0}\" was deleted.")]
    DeletedTodo(String),
    /// A title that is empty once trimmed.
    #[rejection("A to-do needs a title.")]
    EmptyTitle,
    /// A title of more than [`TITLE_LENGTH`] characters once trimmed.
    #[rejection("A title has at most {TITLE_LENGTH} characters, not {0}.")]
    TitleTooLong(usize),
}

use TodoRejection as No;

impl Domain for Todo {
    const NAME: &'static str = "todo";
    const CATEGORY: &'static str = "todo";
    const STATE_VERSION: u32 = 1;

    type Command = TodoCommand;
    type Event = TodoEvent;
    type State = Option<TodoItem>;
    type Rejection = TodoRejection;

    fn streams(command: &TodoCommand) -> Vec<String> {
        todos_of(command).iter().map(|todo| stream_name(Self::CATEGORY, todo)).collect()
    }

    fn decide(
        command: &TodoCommand,
        context: &Context<'_, Self>,
    ) -> Result<Vec<Change<TodoEvent>>, TodoRejection> {
        // A list may be empty, so the first stream is read only by the one-to-do commands.
        let state = || context.stream(0).state.as_ref();
        let one = |event| Ok(vec![context.stream(0).append(event)]);
        match command {
            TodoCommand::AddTodo { todo, title } => {
                if state().is_some() {
                    return Err(No::TodoExists(*todo));
                }
                one(TodoEvent::TodoAdded { title: trimmed(title)? })
            }
            TodoCommand::EditTodo { todo, title } => {
                live(state(), todo)?;
                one(TodoEvent::TodoEdited { title: trimmed(title)? })
            }
            TodoCommand::ToggleTodo { todo, completed } => {
                if live(state(), todo)?.completed == *completed {
                    return Ok(Vec::new());
                }
                one(TodoEvent::TodoToggled { completed: *completed })
            }
            TodoCommand::ToggleAll { completed, .. } => each_listed(command, context, |item| {
                let changes = !item.deleted && item.completed != *completed;
                changes.then_some(TodoEvent::TodoToggled { completed: *completed })
            }),
            TodoCommand::ClearCompleted { .. } => each_listed(command, context, |item| {
                (!item.deleted && item.completed)
                    .then_some(TodoEvent::TodoDeleted { completed: true })
            }),
            TodoCommand::DeleteTodo { todo } => {
                let completed = live(state(), todo)?.completed;
                one(TodoEvent::TodoDeleted { completed })
            }
        }
    }

    fn evolve(state: &mut Option<TodoItem>, event: &TodoEvent) {
        if let TodoEvent::TodoAdded { title } = event {
            *state = Some(TodoItem { title: title.clone(), ..TodoItem::default() });
            return;
        }
        let Some(item) = state else { return };
        match event {
            TodoEvent::TodoAdded { .. } => {}
            TodoEvent::TodoEdited { title } => item.title = title.clone(),
            TodoEvent::TodoToggled { completed } => item.completed = *completed,
            TodoEvent::TodoDeleted { .. } => item.deleted = true,
        }
    }

    fn compensate(command: &TodoCommand, before: &Context<'_, Self>) -> Option<TodoCommand> {
        // As in `decide`, only the one-to-do commands read the first stream: a list may be
        // empty.
        let before = || before.stream(0).state.as_ref();
        match command {
            TodoCommand::AddTodo { todo, .. } => Some(TodoCommand::DeleteTodo { todo: *todo }),
            TodoCommand::EditTodo { todo, .. } => {
                Some(TodoCommand::EditTodo { todo: *todo, title: before()?.title.clone() })
            }
            TodoCommand::ToggleTodo { todo, .. } => {
                Some(TodoCommand::ToggleTodo { todo: *todo, completed: before()?.completed })
            }
            _ => None,
        }
    }

    fn views() -> Vec<Box<dyn DynView<Self>>> {
        vec![Table::<Self, Todos>::boxed(), Table::<Self, Counts>::boxed()]
    }
}

/// The to-dos a command names, each once, in the order first named.
fn todos_of(command: &TodoCommand) -> Vec<Uuid> {
    let listed = match command {
        TodoCommand::AddTodo { todo, .. }
        | TodoCommand::EditTodo { todo, .. }
        | TodoCommand::ToggleTodo { todo, .. }
        | TodoCommand::DeleteTodo { todo } => return vec![*todo],
        TodoCommand::ToggleAll { todos, .. } | TodoCommand::ClearCompleted { todos } => todos,
    };
    let mut todos: Vec<Uuid> = Vec::with_capacity(listed.len());
    for todo in listed {
        if !todos.contains(todo) {
            todos.push(*todo);
        }
    }
    todos
}

/// The event `change` gives each listed to-do, if any; `unknown_todo` if one was never added.
fn each_listed(
    command: &TodoCommand,
    context: &Context<'_, Todo>,
    change: impl Fn(&TodoItem) -> Option<TodoEvent>,
) -> Result<Vec<Change<TodoEvent>>, TodoRejection> {
    let mut changes = Vec::new();
    for (todo, stream) in todos_of(command).iter().zip(context.streams()) {
        let item = stream.state.as_ref().ok_or(No::UnknownTodo(*todo))?;
        changes.extend(change(item).map(|event| stream.append(event)));
    }
    Ok(changes)
}

/// The to-do, if it was added and not deleted.
fn live<'a>(state: Option<&'a TodoItem>, todo: &Uuid) -> Result<&'a TodoItem, TodoRejection> {
    match state {
        None => Err(No::UnknownTodo(*todo)),
        Some(item) if item.deleted => Err(No::DeletedTodo(item.title.clone())),
        Some(item) => Ok(item),
    }
}

/// A title, trimmed: 1 to [`TITLE_LENGTH`] characters.
fn trimmed(title: &str) -> Result<String, TodoRejection> {
    let title = title.trim();
    match title.chars().count() {
        0 => Err(No::EmptyTitle),
        length if length > TITLE_LENGTH => Err(No::TitleTooLong(length)),
        _ => Ok(title.to_owned()),
    }
}
