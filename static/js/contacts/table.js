/*
 * The roster table: one page of contacts, each a <tbody class="contact"> with one row of
 * role checkboxes and buttons. A contact's detail fields are built only when its row is
 * opened. Every row is drawn from the batch (batch.js), so a contact changed on another page,
 * or before a search, shows its changes again when it comes back: the role boxes as asked,
 * and a chip in its status cell saying what is asked of it. Nothing is inserted between rows
 * while editing, and the columns keep their widths.
 */
import { all, el, fullName } from "./dom.js";
import { buildFields } from "./fields.js";

/** "expires in 2 d 23 h", "link expired", …: where an invited contact's link stands. */
function invitationText(invitation) {
  if (invitation.status === "pending" && invitation.expires_at) {
    const seconds = Math.max(0, (Date.parse(invitation.expires_at) - Date.now()) / 1000);
    if (seconds < 3600) {
      return "expires in " + Math.max(1, Math.floor(seconds / 60)) + " min";
    }
    if (seconds < 86400) {
      return "expires in " + Math.floor(seconds / 3600) + " h";
    }
    return "expires in " + Math.floor(seconds / 86400) + " d " +
      Math.floor((seconds % 86400) / 3600) + " h";
  }
  return { expired: "link expired", revoked: "link revoked" }[invitation.status] ||
    "no link sent yet";
}

/** Send a new invitation link (the invitations page's own form post); the cell says how it went. */
async function resend(button) {
  const id = button.closest("tbody.contact").dataset.contactId;
  const path = window.location.pathname.replace(/contacts\/?$/, "invitations/" + id + "/resend");
  const body = new URLSearchParams({
    csrf_token: document.querySelector('meta[name="csrf-token"]').content,
  });
  button.disabled = true;
  const state = button.parentElement.querySelector(".invitation-state");
  try {
    const response = await fetch(path, { method: "POST", credentials: "same-origin", body: body });
    state.textContent = response.ok ? "Invited · new link sent" : "Invited · could not send";
  } catch (error) {
    state.textContent = "Invited · could not send";
  }
  button.disabled = false;
}

export function createTable({ table, batch, roles, fieldDefs, salutations, rolesUrl, onChange }) {
  const body = table;

  function statusCell(contact) {
    const cell = el("td", { class: "col-status" },
      el("span", { class: "badge contact-" + contact.status,
        text: contact.status.charAt(0).toUpperCase() + contact.status.slice(1) }));
    if (contact.invitation) {
      cell.append(el("span", { class: "account-state invitation-state",
        text: "Invited · " + invitationText(contact.invitation) }));
      cell.append(el("button", { type: "button", class: "btn btn-small btn-ghost",
        "data-action": "resend", "aria-label": "Send a new link to " + fullName(contact),
        text: "Resend" }));
    } else if (!["none", "active"].includes(contact.account_status)) {
      cell.append(el("span", { class: "account-state", text: "Account " + contact.account_status }));
    }
    cell.append(el("span", { class: "pending-chip" }));
    return cell;
  }

  function row(contact) {
    const id = contact.id;
    const name = fullName(contact);
    const group = el("tbody", {
      class: "contact" + (contact.status === "deactivated" ? " is-deactivated" : ""),
      "data-contact-id": id, "data-status": contact.status,
    });
    const meta = [contact.job_title, contact.email].filter(Boolean).join(" · ");
    const tr = el("tr", { class: "contact-row" },
      el("th", { scope: "row", class: "col-contact" },
        el("button", {
          type: "button", class: "disclosure", id: "name-" + id,
          "aria-expanded": "false", "aria-controls": "details-" + id,
        }, el("span", { class: "chev", "aria-hidden": "true" }),
        el("span", { class: "contact-name", text: name })),
        el("span", { class: "contact-meta", text: meta })),
      statusCell(contact));
    roles.forEach((role) => {
      tr.append(el("td", { class: "col-role" + (role.required ? " is-required" : "") },
        el("input", {
          type: "checkbox", class: "role-box", id: "role-" + id + "-" + role.code,
          "data-role": role.code, "aria-label": role.name + " — " + name,
        })));
    });
    tr.append(el("td", { class: "col-actions" },
      el("button", {
        type: "button", class: "btn btn-small btn-secondary", "data-action": "status",
        "aria-pressed": "false",
      }),
      el("button", {
        type: "button", class: "btn btn-small btn-danger-outline", "data-action": "delete",
        "aria-pressed": "false",
      })));
    group.append(tr);
    decorate(group);
    return group;
  }

  /** Show on a contact's row what the batch asks of it. */
  function decorate(group) {
    const id = Number(group.dataset.contactId);
    const contact = batch.contact(id);
    const edit = batch.edit(id);
    const removed = Boolean(edit && edit.remove);
    const changing = Boolean(edit && edit.target);
    group.classList.toggle("has-changes", Boolean(edit));
    group.classList.toggle("is-deleted", removed);
    const chip = group.querySelector(".pending-chip");
    chip.textContent = batch.summary(id);
    all(group, "input.role-box").forEach((box) => {
      const held = batch.holds(id, box.dataset.role);
      box.checked = held;
      box.disabled = removed;
      const differs = held !== contact.roles.includes(box.dataset.role);
      box.parentElement.classList.toggle("is-granted", differs && held);
      box.parentElement.classList.toggle("is-revoked", differs && !held);
    });
    const active = contact.status === "active";
    const statusButton = group.querySelector('[data-action="status"]');
    statusButton.textContent = changing
      ? (active ? "Keep active" : "Keep deactivated")
      : (active ? "Deactivate" : "Reactivate");
    statusButton.setAttribute("aria-pressed", changing ? "true" : "false");
    statusButton.disabled = removed;
    const deleteButton = group.querySelector('[data-action="delete"]');
    deleteButton.textContent = removed ? "Undo delete" : "Delete";
    deleteButton.setAttribute("aria-pressed", removed ? "true" : "false");
    all(group, "[data-field]").forEach((input) => {
      input.disabled = removed;
      const value = input.value.trim();
      input.classList.toggle("is-changed", value !== (contact[input.dataset.field] || ""));
    });
  }

  /** The roles a contact holds, required first, each a link to its place in All roles. */
  function heldRoles(contact) {
    const held = roles.filter((role) => contact.roles.includes(role.code));
    if (held.length === 0) {
      return null;
    }
    const list = el("ul", { class: "role-list" });
    held.forEach((role) => {
      const item = el("li", {},
        el("a", { href: rolesUrl + "#role-" + role.code, text: role.name }));
      if (role.required) {
        item.append(" ", el("span", { class: "tag tag-required", text: "Required" }));
      }
      list.append(item);
    });
    return el("div", { class: "contact-roles" }, el("h3", { class: "label", text: "Roles" }), list);
  }

  function columns() {
    return roles.length + 3;
  }

  /** Open a contact's details (built now, the first time), and focus a field if asked. */
  function openDetails(group, focusField) {
    const id = Number(group.dataset.contactId);
    const toggle = group.querySelector("button.disclosure");
    let details = document.getElementById("details-" + id);
    if (!details) {
      const contact = batch.contact(id);
      details = el("tr", { class: "details-row", id: "details-" + id },
        el("td", { colspan: columns() },
          heldRoles(contact),
          el("fieldset", { class: "details" },
            el("legend", { text: "Details of " + fullName(contact) }),
            buildFields(fieldDefs, salutations, "f-" + id, (name) => batch.fieldValue(id, name)))));
      group.append(details);
      decorate(group);
    }
    details.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    if (focusField) {
      const input = details.querySelector('[data-field="' + focusField + '"]');
      if (input) {
        input.focus();
      }
    }
    return details;
  }

  function closeDetails(group) {
    const details = group.querySelector(".details-row");
    if (details) {
      details.remove();
    }
    group.querySelector("button.disclosure").setAttribute("aria-expanded", "false");
  }

  /** Draw a page of contacts in place of the one shown. */
  function show(contacts) {
    all(body, "tbody").forEach((group) => group.remove());
    if (contacts.length === 0) {
      body.append(el("tbody", { class: "roster-empty" },
        el("tr", {}, el("td", { colspan: columns(), class: "empty", text: "No contacts match." }))));
      return;
    }
    const fragment = document.createDocumentFragment();
    contacts.forEach((contact) => fragment.append(row(contact)));
    body.append(fragment);
  }

  function groupOf(id) {
    return body.querySelector('tbody.contact[data-contact-id="' + id + '"]');
  }

  body.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !body.contains(button)) {
      return;
    }
    const group = button.closest("tbody.contact");
    const id = Number(group.dataset.contactId);
    if (button.classList.contains("disclosure")) {
      if (button.getAttribute("aria-expanded") === "true") {
        closeDetails(group);
      } else {
        openDetails(group, null);
        onChange({ opened: id });
      }
      return;
    }
    if (button.dataset.action === "resend") {
      resend(button);
      return;
    }
    if (button.dataset.action === "status") {
      batch.flipStatus(id);
    } else if (button.dataset.action === "delete") {
      batch.flipRemove(id);
    } else {
      return;
    }
    decorate(group);
    onChange({});
  });
  body.addEventListener("change", (event) => {
    const box = event.target.closest("input.role-box");
    if (box) {
      const group = box.closest("tbody.contact");
      batch.setRole(Number(group.dataset.contactId), box.dataset.role, box.checked);
      decorate(group);
      onChange({});
    }
  });
  body.addEventListener("input", (event) => {
    const input = event.target.closest("[data-field]");
    if (input) {
      const group = input.closest("tbody.contact");
      batch.setField(Number(group.dataset.contactId), input.dataset.field, input.value);
      decorate(group);
      onChange({});
    }
  });

  /** Every row drawn again from the batch, the values of open fields too (after Discard). */
  function redraw() {
    all(body, "tbody.contact").forEach((group) => {
      const id = Number(group.dataset.contactId);
      all(group, "[data-field]").forEach((input) => {
        input.value = batch.fieldValue(id, input.dataset.field);
      });
      decorate(group);
    });
  }

  return {
    show, groupOf, openDetails, redraw,
    groups: () => all(body, "tbody.contact"),
  };
}
