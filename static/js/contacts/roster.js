/*
 * Reading the roster table. Each contact is a <tbody class="contact">; a new one carries the
 * batch's `ref` in data-ref. The server rendered each input's original value as its default,
 * so a change is simply "value differs from default".
 */
import { all, clean } from "./dom.js";

export function contactGroups(table) {
  return all(table, "tbody.contact");
}

export function isNew(group) {
  return Boolean(group.dataset.ref);
}

export function fieldInputs(group) {
  return all(group, "[data-field]");
}

export function roleBoxes(group) {
  return all(group, "input.role-box");
}

export function originalValue(input) {
  if (input.tagName === "SELECT") {
    const chosen = Array.from(input.options).find((option) => option.defaultSelected);
    return clean(chosen ? chosen.value : "");
  }
  return clean(input.defaultValue);
}

/** A new contact's name as typed so far, or null. */
export function typedName(group) {
  const first = clean(group.querySelector('[data-field="first_name"]').value);
  const last = clean(group.querySelector('[data-field="last_name"]').value);
  return [first, last].filter(Boolean).join(" ") || null;
}

/** The role columns of the table, in order, from the header cells. */
export function readRoles(table) {
  return all(table, "thead th[data-role]").map((th) => ({
    code: th.dataset.role,
    name: th.dataset.roleName,
    required: th.dataset.required === "true",
    header: th,
  }));
}
