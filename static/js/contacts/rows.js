/*
 * The row editor: each contact's row shows what the batch would do to it (flags, changed
 * fields, granted and revoked roles), and its buttons mark it for deactivation, reactivation
 * or deletion, open its details, or remove a new contact from the batch.
 */
import { clean } from "./dom.js";
import { fieldInputs, isNew, originalValue, roleBoxes, typedName } from "./roster.js";

function statusChanging(group) {
  return Boolean(group.dataset.target && group.dataset.target !== group.dataset.status);
}

function flagText(group) {
  if (group.dataset.delete === "true") {
    return "Will be deleted";
  }
  if (statusChanging(group)) {
    return group.dataset.target === "active" ? "Will be reactivated" : "Will be deactivated";
  }
  return "";
}

function refreshButtons(group, deleted) {
  const statusButton = group.querySelector('[data-action="status"]');
  if (statusButton) {
    const changing = statusChanging(group);
    const active = group.dataset.status === "active";
    statusButton.textContent = changing
      ? (active ? "Keep active" : "Keep deactivated")
      : (active ? "Deactivate" : "Reactivate");
    statusButton.setAttribute("aria-pressed", changing ? "true" : "false");
    statusButton.disabled = deleted;
  }
  const deleteButton = group.querySelector('[data-action="delete"]');
  if (deleteButton) {
    deleteButton.textContent = deleted ? "Undo delete" : "Delete";
    deleteButton.setAttribute("aria-pressed", deleted ? "true" : "false");
  }
}

/** Show on the row what the batch does to this contact. */
export function refreshRow(group, roleNames) {
  const deleted = group.dataset.delete === "true";
  const flag = group.querySelector(".pending-flag");
  flag.textContent = flagText(group);
  flag.hidden = flag.textContent === "";
  group.classList.toggle("is-deleted", deleted);
  refreshButtons(group, deleted);

  let changed = deleted || statusChanging(group) || isNew(group);
  roleBoxes(group).forEach((box) => {
    box.disabled = deleted;
    const differs = !isNew(group) && box.checked !== box.defaultChecked;
    box.parentElement.classList.toggle("is-granted", differs && box.checked);
    box.parentElement.classList.toggle("is-revoked", differs && !box.checked);
    changed = changed || differs;
  });
  fieldInputs(group).forEach((input) => {
    input.disabled = deleted;
    const differs = !isNew(group) && clean(input.value) !== originalValue(input);
    input.classList.toggle("is-changed", differs);
    changed = changed || differs;
  });
  group.classList.toggle("has-changes", changed);
  if (isNew(group)) {
    const name = typedName(group) || "New contact";
    group.querySelector(".contact-name").textContent = name;
    roleBoxes(group).forEach((box) => {
      box.setAttribute("aria-label", roleNames[box.dataset.role] + " — " + name);
    });
  }
}

export function openDetails(group, focus) {
  const toggle = group.querySelector("button.disclosure");
  const details = document.getElementById(toggle.getAttribute("aria-controls"));
  toggle.setAttribute("aria-expanded", "true");
  details.hidden = false;
  if (focus) {
    const first = details.querySelector("[data-field]");
    if (first) {
      first.focus();
    }
  }
}

function toggleDetails(toggle) {
  const open = toggle.getAttribute("aria-expanded") === "true";
  toggle.setAttribute("aria-expanded", open ? "false" : "true");
  document.getElementById(toggle.getAttribute("aria-controls")).hidden = open;
}

/**
 * The table's buttons, and every edit in it, call `onChange`. Removing a new contact moves
 * the focus to the row before it, or to `fallbackFocus`.
 */
export function watchRows(table, fallbackFocus, onChange) {
  table.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !table.contains(button)) {
      return;
    }
    const group = button.closest("tbody.contact");
    if (button.classList.contains("disclosure")) {
      toggleDetails(button);
      return;
    }
    const action = button.dataset.action;
    if (action === "status") {
      const current = group.dataset.status;
      const flipped = current === "active" ? "deactivated" : "active";
      group.dataset.target = group.dataset.target === flipped ? current : flipped;
    } else if (action === "delete") {
      if (group.dataset.delete === "true") {
        delete group.dataset.delete;
      } else {
        group.dataset.delete = "true";
      }
    } else if (action === "remove") {
      const previous = group.previousElementSibling;
      group.remove();
      ((previous && previous.querySelector("button.disclosure")) || fallbackFocus).focus();
    } else {
      return;
    }
    onChange();
  });
  table.addEventListener("input", onChange);
  table.addEventListener("change", onChange);
}

/** Back to the page as the server rendered it, before the form's own reset. */
export function unmarkRows(groups) {
  groups.forEach((group) => {
    delete group.dataset.delete;
    delete group.dataset.target;
  });
}
