// A few DOM helpers: find an element the page must have, build elements, and refill a region
// without losing the keyboard focus of whoever is working in it.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** The one element matching `selector` under `root`; a missing one is a bug of the page. */
export function find<E extends Element = HTMLElement>(selector: string, root: ParentNode = document): E {
  const found = root.querySelector<E>(selector);
  if (!found) throw new Error(`The page has no ${selector}.`);
  return found;
}

/** The element marked `data-region="name"`. */
export function region<E extends HTMLElement = HTMLElement>(name: string): E {
  return find<E>(`[data-region="${name}"]`);
}

/** The element marked `data-testid="id"`: the page's stable handles. */
export function handle<E extends HTMLElement = HTMLElement>(id: string): E {
  return find<E>(`[data-testid="${id}"]`);
}

/** `h("li", { class: "x", onclick: f }, "text", child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.replace(/^on/, ""), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces the children of `parent`. If the focus was on an element with a `data-key` inside
 * it, the new element with the same key takes the focus back, so a list that changes while
 * someone tabs through it does not throw them out.
 */
export function refill(parent: Element, children: Child[]) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && parent.contains(active) ? active.dataset.key : undefined;
  parent.replaceChildren();
  append(parent, children);
  if (key !== undefined) {
    parent.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
  }
}

/** Shows `message` in a form's error line, or hides the line when `message` is empty. */
export function say(line: HTMLElement, message: string, code?: string) {
  line.hidden = message === "";
  line.textContent = message;
  if (code) line.dataset.code = code;
  else delete line.dataset.code;
}
