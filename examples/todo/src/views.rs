//! The to-do list's read models: `todos` and `counts`.

use annals_core::{Envelope, Json, Projection, id_of};

use super::events::TodoEvent;
use super::rules::Todo;

/// Every to-do that is not deleted, keyed by its id.
pub struct Todos;

/// One to-do in `todos`.
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct TodoRow {
    /// Its title.
    pub title: String,
    /// Whether it is done.
    pub completed: bool,
    /// When it was added, in milliseconds since the epoch: the list's order.
    pub added_at: i64,
}

impl Projection<Todo> for Todos {
    const NAME: &'static str = "todos";
    const VERSION: u32 = 1;
    type Row = TodoRow;

    fn key(envelope: &Envelope<TodoEvent>) -> Option<String> {
        Some(id_of(&envelope.stream).to_owned())
    }

    fn apply(row: &mut Option<TodoRow>, envelope: &Envelope<TodoEvent>) {
        if let TodoEvent::TodoAdded { title } = &envelope.event {
            let added_at = envelope.meta.at;
            *row = Some(TodoRow { title: title.clone(), completed: false, added_at });
            return;
        }
        let Some(todo) = row else { return };
        match &envelope.event {
            TodoEvent::TodoAdded { .. } => {}
            TodoEvent::TodoEdited { title } => todo.title = title.clone(),
            TodoEvent::TodoToggled { completed } => todo.completed = *completed,
            TodoEvent::TodoDeleted { .. } => *row = None,
        }
    }
}

/// How many to-dos are active and how many completed, deleted ones left out. One value, not
/// keyed; `null` until the first to-do is added.
pub struct Counts;

/// The value of `counts`.
#[derive(Clone, Debug, Default, PartialEq, Json)]
pub struct CountsRow {
    /// To-dos still to do.
    pub active: u64,
    /// To-dos done.
    pub completed: u64,
}

impl CountsRow {
    fn count(&mut self, completed: bool) -> &mut u64 {
        if completed { &mut self.completed } else { &mut self.active }
    }
}

impl Projection<Todo> for Counts {
    const NAME: &'static str = "counts";
    const VERSION: u32 = 1;
    const SINGLE: bool = true;
    type Row = CountsRow;

    fn key(envelope: &Envelope<TodoEvent>) -> Option<String> {
        match envelope.event {
            TodoEvent::TodoEdited { .. } => None,
            _ => Some(String::new()),
        }
    }

    fn apply(row: &mut Option<CountsRow>, envelope: &Envelope<TodoEvent>) {
        let counts = row.get_or_insert_with(CountsRow::default);
        // A toggle is always a change, so it moves one to-do from the other count.
        let (left, joined) = match envelope.event {
            TodoEvent::TodoAdded { .. } => (None, Some(false)),
            TodoEvent::TodoToggled { completed } => (Some(!completed), Some(completed)),
            TodoEvent::TodoDeleted { completed } => (Some(completed), None),
            TodoEvent::TodoEdited { .. } => (None, None),
        };
        if let Some(completed) = left {
            let count = counts.count(completed);
            *count = count.saturating_sub(1);
        }
        if let Some(completed) = joined {
            *counts.count(completed) += 1;
        }
    }
}
