// A tiny DOM builder. Text always goes in as text (names and paths come from torrents, which
// are untrusted): nothing here ever parses HTML.

/**
 * Makes an element.
 * @param {string} tag e.g. "button" or "svg:path"
 * @param {Record<string, unknown>} [props] class, text, on<Event>, dataset, hidden, or attributes
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", String(value));
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") {
      el[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Sets an element's text only when it changed (keeps screen readers quiet). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Removes every child. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

/** Shows a short message in the toast area (errors stay longer). */
export function toast(message, kind = "info") {
  const area = document.getElementById("toasts");
  const item = h(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    message,
  );
  area.append(item);
  setTimeout(() => item.classList.add("leaving"), kind === "error" ? 7000 : 3500);
  setTimeout(() => item.remove(), kind === "error" ? 7600 : 4100);
}
