/*
 * Small helpers of the contacts manager. Text is only ever set with textContent: nothing typed
 * on the page, and nothing the server sends, is parsed as HTML.
 */

/** Trimmed text, or null when nothing is left: how the batch carries an empty field. */
export function clean(value) {
  const text = (value || "").trim();
  return text === "" ? null : text;
}

export function all(root, selector) {
  return Array.from(root.querySelectorAll(selector));
}

export function addItem(list, text) {
  const item = document.createElement("li");
  item.textContent = text;
  list.appendChild(item);
}

export function plural(count, one, many) {
  return count === 1 ? one : many;
}

/** A new element: `attrs` set as attributes (`text` as its text), then its children. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([name, value]) => {
    if (value === null || value === undefined || value === false) {
      return;
    }
    if (name === "text") {
      node.textContent = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  });
  children.forEach((child) => {
    if (child !== null && child !== undefined) {
      node.append(child);
    }
  });
  return node;
}

/** A contact's name as the roster shows it. */
export function fullName(contact) {
  return [contact.first_name, contact.last_name].filter(Boolean).join(" ") || "Unnamed contact";
}
