/*
 * New contacts, in a panel above the roster (never at the end of a long table): "Add contact"
 * opens one there with its fields and roles, focused on its first field. Each new contact gets
 * the batch's next `ref` (n1, n2, …), which also keeps the ids of its fields unique. Its fields
 * are checked once they have been left: a problem shows at a field only after its blur.
 */
import { all, el } from "./dom.js";
import { buildFields } from "./fields.js";

export function createNewContacts({ panel, list, button, batch, roles, fieldDefs, salutations,
  onChange }) {
  function card(ref) {
    const contact = batch.added.get(ref);
    const name = el("span", { class: "contact-name", text: "New contact" });
    const roleList = el("div", { class: "new-contact-roles", role: "group",
      "aria-label": "Roles" });
    roles.forEach((role) => {
      const id = "role-" + ref + "-" + role.code;
      roleList.append(el("label", { class: "new-contact-role", for: id },
        el("input", { type: "checkbox", class: "role-box", id: id, "data-role": role.code }),
        " " + role.name));
    });
    const fieldset = el("fieldset", { class: "new-contact", "data-ref": ref, id: "new-" + ref },
      el("legend", {}, name),
      buildFields(fieldDefs, salutations, "f-" + ref, (field) => contact.fields[field] || ""),
      el("p", { class: "label", text: "Roles" }),
      roleList,
      el("p", { class: "new-contact-actions" },
        el("button", { type: "button", class: "btn btn-small btn-secondary",
          "data-action": "remove", text: "Remove" })));
    return fieldset;
  }

  function add() {
    const ref = batch.addContact();
    const fieldset = card(ref);
    list.prepend(fieldset);
    panel.hidden = false;
    fieldset.querySelector("[data-field]").focus();
    onChange({});
  }

  function refreshName(fieldset) {
    const contact = batch.added.get(fieldset.dataset.ref);
    const typed = [contact.fields.first_name, contact.fields.last_name]
      .map((part) => (part || "").trim()).filter(Boolean).join(" ");
    fieldset.querySelector("legend .contact-name").textContent = typed || "New contact";
  }

  list.addEventListener("input", (event) => {
    const input = event.target.closest("[data-field]");
    if (!input) {
      return;
    }
    const fieldset = input.closest("fieldset.new-contact");
    batch.added.get(fieldset.dataset.ref).fields[input.dataset.field] = input.value;
    refreshName(fieldset);
    onChange({});
  });
  list.addEventListener("change", (event) => {
    const box = event.target.closest("input.role-box");
    const input = event.target.closest("[data-field]");
    const fieldset = event.target.closest("fieldset.new-contact");
    if (!fieldset) {
      return;
    }
    const contact = batch.added.get(fieldset.dataset.ref);
    if (box) {
      if (box.checked) {
        contact.roles.add(box.dataset.role);
      } else {
        contact.roles.delete(box.dataset.role);
      }
      onChange({});
    } else if (input) {
      contact.touched.add(input.dataset.field);
      onChange({ touched: true });
    }
  });
  // A field left, changed or not, is checked from then on.
  list.addEventListener("focusout", (event) => {
    const input = event.target.closest("[data-field]");
    const fieldset = event.target.closest("fieldset.new-contact");
    if (input && fieldset && batch.added.has(fieldset.dataset.ref)) {
      batch.added.get(fieldset.dataset.ref).touched.add(input.dataset.field);
      onChange({ touched: true });
    }
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="remove"]');
    if (!button) {
      return;
    }
    const fieldset = button.closest("fieldset.new-contact");
    const next = fieldset.nextElementSibling || fieldset.previousElementSibling;
    batch.dropContact(fieldset.dataset.ref);
    fieldset.remove();
    panel.hidden = list.children.length === 0;
    ((next && next.querySelector("[data-field]")) || button.ownerDocument.getElementById(
      "add-contact")).focus();
    onChange({});
  });

  /** A new contact of a stored batch, put back with its details and roles; its ref here. */
  function restore(fields, roleCodes) {
    const ref = batch.addContact();
    const contact = batch.added.get(ref);
    Object.entries(fields).forEach(([name, value]) => {
      if (value !== null && value !== undefined) {
        contact.fields[name] = String(value);
      }
    });
    roleCodes.forEach((code) => contact.roles.add(code));
    const fieldset = card(ref);
    all(fieldset, "input.role-box").forEach((box) => {
      box.checked = contact.roles.has(box.dataset.role);
    });
    list.append(fieldset);
    panel.hidden = false;
    refreshName(fieldset);
    return ref;
  }

  function setRole(ref, code, held) {
    const contact = batch.added.get(ref);
    if (!contact) {
      return;
    }
    if (held) {
      contact.roles.add(code);
    } else {
      contact.roles.delete(code);
    }
    const box = document.getElementById("role-" + ref + "-" + code);
    if (box) {
      box.checked = held;
    }
  }

  button.addEventListener("click", add);
  button.hidden = false;

  return {
    restore,
    setRole,
    removeAll() {
      all(list, "fieldset.new-contact").forEach((fieldset) => fieldset.remove());
      panel.hidden = true;
    },
    cardOf: (ref) => document.getElementById("new-" + ref),
  };
}
