/*
 * The add-contact form: "Add contact" appends a new contact's row, cloned from the page's
 * <template>, with its details open. Each new contact gets the next `ref` of the batch (n1,
 * n2, …), which also keeps the ids of its fields unique on the page.
 */
import { all } from "./dom.js";
import { contactGroups, isNew } from "./roster.js";
import { openDetails } from "./rows.js";

const LINKED_ATTRIBUTES = ["id", "for", "aria-controls", "aria-describedby"];

export function createAddContact({ table, template, button, onChange }) {
  let added = 0;

  function add() {
    added += 1;
    const key = "n" + added;
    const fragment = template.content.cloneNode(true);
    all(fragment, "[id], [for], [aria-controls], [aria-describedby]").forEach((el) => {
      LINKED_ATTRIBUTES.forEach((name) => {
        const value = el.getAttribute(name);
        if (value) {
          el.setAttribute(name, value.split("__KEY__").join(key));
        }
      });
    });
    const group = fragment.querySelector("tbody.contact");
    group.dataset.ref = key;
    table.appendChild(fragment);
    openDetails(group, true);
    onChange();
  }

  /** Take every new contact out of the page; the next one is n1 again. */
  function removeAll() {
    contactGroups(table).filter(isNew).forEach((group) => group.remove());
    added = 0;
  }

  button.addEventListener("click", add);
  button.disabled = false;
  return { removeAll: removeAll };
}
