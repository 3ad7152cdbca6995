import { isAnnalsError, open } from "annals-todo";
import type { Command, TodoRow } from "annals-todo";

const replica = await open({ storage: "local", server: { url: location.origin } });
const todos = replica.watch("todos");
const counts = replica.watch("counts");
const $ = (id: string) => document.getElementById(id)!;

// Runs a command at once; a rule that refuses it says why, and nothing changes.
function run(command: Command) {
  try {
    replica.execute(command);
    $("error").textContent = "";
  } catch (error) {
    if (!isAnnalsError(error)) throw error;
    $("error").textContent = error.message;
  }
}

function item(todo: string, row: TodoRow): HTMLLIElement {
  const li = document.createElement("li");
  li.className = row.completed ? "completed" : "";
  const done = Object.assign(document.createElement("input"), { type: "checkbox", checked: row.completed });
  done.onchange = () => run({ type: "ToggleTodo", data: { todo, completed: done.checked } });
  const label = Object.assign(document.createElement("label"), { textContent: row.title });
  label.ondblclick = () => {
    const edit = Object.assign(document.createElement("input"), { className: "edit", value: row.title });
    edit.onkeydown = (key) => {
      if (key.key !== "Enter") return;
      const title = edit.value.trim();
      run(title ? { type: "EditTodo", data: { todo, title } } : { type: "DeleteTodo", data: { todo } });
    };
    label.replaceWith(edit);
    edit.focus();
  };
  const remove = Object.assign(document.createElement("button"), { textContent: "×", title: "Delete" });
  remove.onclick = () => run({ type: "DeleteTodo", data: { todo } });
  li.append(done, label, remove);
  return li;
}

function render() {
  const listed = Object.entries(todos.get()).sort(([, a], [, b]) => a.added_at - b.added_at);
  $("list").replaceChildren(...listed.map(([todo, row]) => item(todo, row)));
  const { active, completed } = counts.get() ?? { active: 0, completed: 0 };
  $("count").textContent = `${active} item${active === 1 ? "" : "s"} left`;
  ($("toggle-all") as HTMLInputElement).checked = active === 0 && completed > 0;
  const { pending } = replica.summary();
  $("sync").textContent = pending ? `${pending} to sync` : "synced";
  $("rejected").replaceChildren(
    ...replica.rejected().map(({ id, code, message }) => {
      const li = Object.assign(document.createElement("li"), { textContent: `${code}: ${message} ` });
      const dismiss = Object.assign(document.createElement("button"), { textContent: "OK" });
      dismiss.onclick = () => replica.dismiss(id);
      li.append(dismiss);
      return li;
    }),
  );
}

$("add").onsubmit = (submit) => {
  submit.preventDefault();
  const input = $("title") as HTMLInputElement;
  run({ type: "AddTodo", data: { todo: crypto.randomUUID(), title: input.value } });
  if (!$("error").textContent) input.value = "";
};
$("toggle-all").onchange = (change) => {
  const completed = (change.target as HTMLInputElement).checked;
  run({ type: "ToggleAll", data: { todos: Object.keys(todos.get()), completed } });
};
$("clear").onclick = () => run({ type: "ClearCompleted", data: { todos: Object.keys(todos.get()) } });
replica.subscribe(render);
render();
