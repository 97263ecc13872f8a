/*
 * The batch: every change prepared on the page, kept apart from what the page shows, so that
 * it survives searching and paging. It knows each contact it has seen as the server sent it
 * (`original`), what is asked of the contacts changed (`edits`, by id), and the new contacts
 * (`added`, by their batch `ref`: n1, n2, …). `read()` turns it into the change-request items
 * in a fixed order, with beside each item its origin: which contact, field or role made it, so
 * that a problem the server reports at `changes/<n>/…` is shown where it belongs.
 */
import { clean } from "./dom.js";

export const FIELD_NAMES = [
  "salutation", "first_name", "last_name", "email", "job_title", "phone", "mobile",
];

/** `roleOrder`: the role codes in the table's column order, the order a new contact's take. */
export function createBatch(roleOrder) {
  const original = new Map(); // id -> contact as the server sent it
  const edits = new Map(); // id -> { fields: {}, roles: Map(code -> held), target, remove }
  const added = new Map(); // ref -> { fields: {}, roles: Set, touched: Set }
  let lastRef = 0;

  function remember(contacts) {
    contacts.forEach((contact) => {
      if (!edits.has(contact.id)) {
        original.set(contact.id, contact);
      }
    });
  }

  function editOf(id) {
    if (!edits.has(id)) {
      edits.set(id, { fields: {}, roles: new Map(), target: null, remove: false });
    }
    return edits.get(id);
  }

  function prune(id) {
    const edit = edits.get(id);
    if (edit && !edit.remove && !edit.target && edit.roles.size === 0 &&
        Object.keys(edit.fields).length === 0) {
      edits.delete(id);
    }
  }

  /** The value of a field as the page shows it now: the edited one, else the original. */
  function fieldValue(id, name) {
    const edit = edits.get(id);
    if (edit && name in edit.fields) {
      return edit.fields[name] || "";
    }
    return original.get(id)[name] || "";
  }

  function setField(id, name, value) {
    const edit = editOf(id);
    if (clean(value) === clean(original.get(id)[name])) {
      delete edit.fields[name];
    } else {
      edit.fields[name] = clean(value);
    }
    prune(id);
  }

  function holds(id, code) {
    const edit = edits.get(id);
    if (edit && edit.roles.has(code)) {
      return edit.roles.get(code);
    }
    return original.get(id).roles.includes(code);
  }

  function setRole(id, code, held) {
    const edit = editOf(id);
    if (held === original.get(id).roles.includes(code)) {
      edit.roles.delete(code);
    } else {
      edit.roles.set(code, held);
    }
    prune(id);
  }

  /** Deactivate an active contact or reactivate a deactivated one; again to undo. */
  function flipStatus(id) {
    const edit = editOf(id);
    edit.target = edit.target ? null : (original.get(id).status === "active" ? "deactivated" : "active");
    prune(id);
  }

  function flipRemove(id) {
    const edit = editOf(id);
    edit.remove = !edit.remove;
    prune(id);
  }

  function addContact() {
    lastRef += 1;
    const ref = "n" + lastRef;
    added.set(ref, { fields: {}, roles: new Set(), touched: new Set() });
    return ref;
  }

  function dropContact(ref) {
    added.delete(ref);
  }

  function clear() {
    edits.clear();
    added.clear();
    lastRef = 0;
  }

  function itemsOfEdit(id, edit) {
    if (edit.remove) {
      return [{ change: { op: "delete_contact", contact_id: id }, origin: { id: id } }];
    }
    const items = [];
    if (Object.keys(edit.fields).length) {
      items.push({
        change: { op: "update_contact", contact_id: id, fields: { ...edit.fields } },
        origin: { id: id },
      });
    }
    edit.roles.forEach((held, code) => {
      items.push({
        change: { op: held ? "grant_role" : "revoke_role", contact_id: id, role: code },
        origin: { id: id, role: code },
      });
    });
    if (edit.target) {
      const op = edit.target === "active" ? "reactivate_contact" : "deactivate_contact";
      items.push({ change: { op: op, contact_id: id }, origin: { id: id } });
    }
    return items;
  }

  /** `changes` for the server, and `origins[n]`: where item n came from on the page. */
  function read(extraItems) {
    const items = [];
    added.forEach((contact, ref) => {
      const fields = {};
      Object.entries(contact.fields).forEach(([name, value]) => {
        if (clean(value) !== null) {
          fields[name] = clean(value);
        }
      });
      items.push({
        change: { op: "add_contact", ref: ref, contact: fields, roles: roleOrder.filter((code) => contact.roles.has(code)) },
        origin: { ref: ref },
      });
    });
    changedContacts().forEach((contact) => {
      items.push(...itemsOfEdit(contact.id, edits.get(contact.id)));
    });
    items.push(...extraItems);
    return {
      changes: items.map((item) => item.change),
      origins: items.map((item) => item.origin),
    };
  }

  /** What is asked of a contact, in a few words for its chip, or "" when nothing is. */
  function summary(id) {
    const edit = edits.get(id);
    if (!edit) {
      return "";
    }
    if (edit.remove) {
      return "Will be deleted";
    }
    const others = itemsOfEdit(id, edit).length - (edit.target ? 1 : 0);
    if (edit.target) {
      const verb = edit.target === "active" ? "Will be reactivated" : "Will be deactivated";
      return others ? verb + " · +" + others : verb;
    }
    return others === 1 ? "1 change" : others + " changes";
  }

  /** The contacts with a pending change, as the server sent them, in the roster's order. */
  function changedContacts() {
    const key = (c) => [(c.last_name || "").toLowerCase(), (c.first_name || "").toLowerCase()];
    return Array.from(edits.keys()).map((id) => original.get(id)).sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      return ka[0].localeCompare(kb[0]) || ka[1].localeCompare(kb[1]) || a.id - b.id;
    });
  }

  return {
    remember, fieldValue, setField, holds, setRole, flipStatus, flipRemove,
    addContact, dropContact, clear, read, summary, changedContacts,
    contact: (id) => original.get(id),
    edit: (id) => edits.get(id),
    added: added,
  };
}
