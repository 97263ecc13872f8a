/*
 * Problems, as a list in the action bar: each a link that jumps to its row or field. The
 * server names where each one is with a `path` (`changes/3/contact/email`, `changes/5/role`,
 * `changes/5`); the batch's origins say which contact, new contact, field, role or delegation
 * made item n. A field's problem also shows in the field's own slot, and a row's marks its
 * row; nothing is inserted into the page, so nothing moves under the pointer. A new contact's
 * field is reported only once it has been left (or once the whole batch is asked for).
 */
import { all, el, fullName } from "./dom.js";
import { clearDelegationProblems, showDelegationProblem } from "./delegations.js";
import { markField } from "./fields.js";

/** Where an error's path points: the origin of its item, and the field within it. */
function locate(error, origins) {
  const parts = (error.path || "").split("/");
  if (parts[0] !== "changes" || !/^\d+$/.test(parts[1] || "")) {
    return null;
  }
  const origin = origins[Number(parts[1])];
  if (!origin) {
    return null;
  }
  const field = (parts[2] === "contact" || parts[2] === "fields") ? parts[3] : null;
  return { ...origin, field: field || null };
}

export function createProblems({ list, batch, delegations, jump }) {
  let placed = []; // [{place, message}] of the latest answer
  let general = [];

  function visible(place) {
    if (place.ref && place.field) {
      const added = batch.added.get(place.ref);
      return Boolean(added && added.touched.has(place.field));
    }
    return true;
  }

  function label(place) {
    if (place.ref) {
      const fields = (batch.added.get(place.ref) || { fields: {} }).fields;
      const name = [fields.first_name, fields.last_name].filter(Boolean).join(" ");
      return name || "New contact";
    }
    if (place.id !== undefined) {
      const contact = batch.contact(place.id);
      return contact ? fullName(contact) : "A contact";
    }
    return "Delegated access";
  }

  /** Mark the fields and rows on the page now (after a redraw too). */
  function mark() {
    all(document, ".field-error:not([data-delegate])").forEach((slot) => {
      if (slot.closest(".delegations")) {
        return;
      }
      slot.textContent = "";
    });
    all(document, "#roster-editor [aria-invalid]").forEach((input) => {
      if (!input.closest(".delegations")) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    });
    all(document, "#roster-editor .has-error").forEach((node) => {
      if (!node.closest(".delegations")) {
        node.classList.remove("has-error");
      }
    });
    all(document, "tbody.contact.has-problem").forEach((g) => g.classList.remove("has-problem"));
    clearDelegationProblems(delegations);
    const byField = new Map();
    placed.forEach(({ place, message }) => {
      if (place.delegation) {
        showDelegationProblem(delegations, place.delegation, message);
        return;
      }
      const key = place.ref || place.id;
      if (place.field && visible(place)) {
        const id = "f-" + key + "-" + place.field;
        byField.set(id, [...(byField.get(id) || []), message]);
      }
      if (place.id !== undefined) {
        const group = document.querySelector('tbody.contact[data-contact-id="' + place.id + '"]');
        if (group) {
          group.classList.add("has-problem");
          const box = place.role && group.querySelector('input.role-box[data-role="' + place.role + '"]');
          if (box) {
            box.setAttribute("aria-invalid", "true");
            box.parentElement.classList.add("has-error");
          }
        }
      }
    });
    byField.forEach((messages, id) => {
      const input = document.getElementById(id);
      if (input) {
        markField(input, messages.join(" "));
      }
    });
  }

  function render() {
    list.textContent = "";
    general.forEach((message) => list.append(el("li", { class: "problem", text: message })));
    placed.filter(({ place }) => place.delegation || visible(place)).forEach(({ place, message }) => {
      const link = el("a", { href: "#", class: "problem-link" },
        el("strong", { text: label(place) + ": " }), message);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        jump(place);
      });
      list.append(el("li", { class: "problem" }, link));
    });
    mark();
  }

  /** Show every error of the server's answer; returns how many are shown now. */
  function show(errors, origins) {
    placed = [];
    general = [];
    errors.forEach((error) => {
      const place = locate(error, origins);
      if (place) {
        placed.push({ place: place, message: error.message });
      } else {
        general.push(error.message);
      }
    });
    render();
    return list.children.length;
  }

  function clear() {
    placed = [];
    general = [];
    render();
  }

  /** Report every problem, a new contact's untouched fields too (before a submit). */
  function revealAll() {
    placed.forEach(({ place }) => {
      const contact = place.ref && place.field && batch.added.get(place.ref);
      if (contact) {
        contact.touched.add(place.field);
      }
    });
    render();
  }

  return { show, clear, render, mark, revealAll, count: () => list.children.length,
    hidden: () => placed.filter(({ place }) => !place.delegation && !visible(place)).length };
}
