//! What users of the to-do list ask for.

use annals_core::{Command, Uuid};

/// A to-do command; on the wire `{"type": "AddTodo", "data": {"todo": ..., "title": ...}}`.
#[derive(Clone, Debug, PartialEq, Command)]
pub enum TodoCommand {
    /// Add a new, active to-do.
    AddTodo {
        /// The new to-do's id, made by the client.
        todo: Uuid,
        /// Its title: trimmed, 1 to [`TITLE_LENGTH`](crate::TITLE_LENGTH) characters.
        title: String,
    },
    /// Give a to-do a new title. An empty one is rejected: to drop a to-do, delete it.
    EditTodo {
        /// The to-do.
        todo: Uuid,
        /// Its new title: trimmed, 1 to [`TITLE_LENGTH`](crate::TITLE_LENGTH) characters.
        title: String,
    },
    /// Mark a to-do completed, or active again. Nothing is recorded when it already is.
    ToggleTodo {
        /// The to-do.
        todo: Uuid,
        /// Whether it is done.
        completed: bool,
    },
    /// Mark every listed to-do completed, or every one active again: one event per to-do
    /// whose state changes. Deleted ones are passed over.
    ToggleAll {
        /// The to-dos, as the UI lists them.
        todos: Vec<Uuid>,
        /// Whether they are done.
        completed: bool,
    },
    /// Delete the listed to-dos that are completed; active and deleted ones are passed over.
    ClearCompleted {
        /// The to-dos, as the UI lists them.
        todos: Vec<Uuid>,
    },
    /// Delete a to-do. It cannot come back: its id stays taken.
    DeleteTodo {
        /// The to-do.
        todo: Uuid,
    },
}
