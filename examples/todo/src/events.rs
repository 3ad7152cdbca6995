//! What happened to to-dos.

use annals_core::Event;

/// A to-do event.
#[derive(Clone, Debug, PartialEq, Event)]
pub enum TodoEvent {
    /// A to-do was added, active.
    TodoAdded {
        /// Its title.
        title: String,
    },
    /// A to-do got a new title.
    TodoEdited {
        /// The new title.
        title: String,
    },
    /// A to-do was completed, or made active again: always a change from what it was.
    TodoToggled {
        /// Whether it is done now.
        completed: bool,
    },
    /// A to-do was deleted.
    TodoDeleted {
        /// Whether it was completed when deleted (so `counts` knows which count it leaves).
        completed: bool,
    },
}
