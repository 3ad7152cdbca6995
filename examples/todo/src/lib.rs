//! To-dos with the rules of TodoMVC: add, edit, complete or reopen, toggle all, clear the
//! completed ones, delete.
//!
//! One stream per to-do, `todo-<uuid>`. A title is trimmed and 1 to [`TITLE_LENGTH`]
//! characters. In TodoMVC an edit that leaves the title empty deletes the to-do: here such an
//! `EditTodo` is rejected `empty_title`, and the UI sends `DeleteTodo` instead.
//!
//! `ToggleAll` and `ClearCompleted` name the to-dos the UI lists, so one command spans their
//! streams and is appended atomically. See [`Todo`] for every rule, and the views `todos` and
//! `counts` in [`Todos`] and [`Counts`].

mod commands;
mod events;
mod rules;
mod views;

pub use commands::TodoCommand;
pub use events::TodoEvent;
pub use rules::{TITLE_LENGTH, Todo, TodoItem, TodoRejection};
pub use views::{Counts, CountsRow, TodoRow, Todos};
