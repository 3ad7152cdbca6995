// The types of the annals domain "todo", generated from its Rust types. Do not edit.

/** A to-do command; on the wire `{"type": "AddTodo", "data": {"todo": ..., "title": ...}}`. */
export type Command =
  | {
      /** Add a new, active to-do. */
      type: "AddTodo";
      data: {
        /** The new to-do's id, made by the client. */
        todo: string;
        /** Its title: trimmed, 1 to `TITLE_LENGTH` characters. */
        title: string;
      };
    }
  | {
      /** Give a to-do a new title. An empty one is rejected: to drop a to-do, delete it. */
      type: "EditTodo";
      data: {
        /** The to-do. */
        todo: string;
        /** Its new title: trimmed, 1 to `TITLE_LENGTH` characters. */
        title: string;
      };
    }
  | {
      /** Mark a to-do completed, or active again. Nothing is recorded when it already is. */
      type: "ToggleTodo";
      data: {
        /** The to-do. */
        todo: string;
        /** Whether it is done. */
        completed: boolean;
      };
    }
  | {
      /**
       * Mark every listed to-do completed, or every one active again: one event per to-do
       * whose state changes. Deleted ones are passed over.
       */
      type: "ToggleAll";
      data: {
        /** The to-dos, as the UI lists them. */
        todos: string[];
        /** Whether they are done. */
        completed: boolean;
      };
    }
  | {
      /** Delete the listed to-dos that are completed; active and deleted ones are passed over. */
      type: "ClearCompleted";
      data: {
        /** The to-dos, as the UI lists them. */
        todos: string[];
      };
    }
  | {
      /** Delete a to-do. It cannot come back: its id stays taken. */
      type: "DeleteTodo";
      data: {
        /** The to-do. */
        todo: string;
      };
    };

/** A to-do event. */
export type Event =
  | {
      /** A to-do was added, active. */
      type: "TodoAdded";
      data: {
        /** Its title. */
        title: string;
      };
    }
  | {
      /** A to-do got a new title. */
      type: "TodoEdited";
      data: {
        /** The new title. */
        title: string;
      };
    }
  | {
      /** A to-do was completed, or made active again: always a change from what it was. */
      type: "TodoToggled";
      data: {
        /** Whether it is done now. */
        completed: boolean;
      };
    }
  | {
      /** A to-do was deleted. */
      type: "TodoDeleted";
      data: {
        /** Whether it was completed when deleted (so `counts` knows which count it leaves). */
        completed: boolean;
      };
    };

/** A stream's decided state (`Domain::State`) as JSON. */
export type State = TodoItem | null;

/**
 * The domain's views by name. `all` is a view's value: its listed rows by key,
 * or the one value of a view that is one (`null` before it has one); `row` is one listed row by
 * key (`never` for a view of one value).
 */
export type Views = {
  todos: { all: Record<string, TodoRow>; row: TodoRow };
  counts: { all: CountsRow | null; row: never };
};

/** Why a command is refused. */
export type RejectionCode =
  | "todo_exists"
  | "unknown_todo"
  | "deleted_todo"
  | "empty_title"
  | "title_too_long";

/** The domain's name. */
export type DomainName = "todo";

/** A to-do's decided state (`None` in `Todo`'s `State` until it is added). */
export interface TodoItem {
  /** Its title. */
  title: string;
  /** Whether it is done. */
  completed: boolean;
  /** Whether it was deleted. */
  deleted: boolean;
}

/** One to-do in `todos`. */
export interface TodoRow {
  /** Its title. */
  title: string;
  /** Whether it is done. */
  completed: boolean;
  /** When it was added, in milliseconds since the epoch: the list's order. */
  added_at: number;
}

/** The value of `counts`. */
export interface CountsRow {
  /** To-dos still to do. */
  active: number;
  /** To-dos done. */
  completed: number;
}
