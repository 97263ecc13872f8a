/*
 * Small helpers of the contacts manager. Text is only ever set with textContent: nothing typed
 * on the page is parsed as HTML.
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
