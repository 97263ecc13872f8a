/*
 * The batch state: the page, read as one change-request batch in a fixed order. Beside each
 * item, its origin says where on the page it came from, so that a problem the server reports
 * at `changes/<n>/…` is shown next to the field or row that made item n.
 */
import { clean } from "./dom.js";
import { delegationItems } from "./delegations.js";
import { contactGroups, fieldInputs, isNew, originalValue, roleBoxes } from "./roster.js";

function newContactItem(group) {
  const contact = {};
  fieldInputs(group).forEach((input) => {
    const value = clean(input.value);
    if (value !== null) {
      contact[input.dataset.field] = value;
    }
  });
  const roles = roleBoxes(group).filter((box) => box.checked).map((box) => box.dataset.role);
  return {
    change: { op: "add_contact", ref: group.dataset.ref, contact: contact, roles: roles },
    origin: { group: group },
  };
}

function existingContactItems(group) {
  const id = Number(group.dataset.contactId);
  if (group.dataset.delete === "true") {
    return [{ change: { op: "delete_contact", contact_id: id }, origin: { group: group } }];
  }
  const items = [];
  const fields = {};
  let edited = false;
  fieldInputs(group).forEach((input) => {
    const value = clean(input.value);
    if (value !== originalValue(input)) {
      fields[input.dataset.field] = value;
      edited = true;
    }
  });
  if (edited) {
    items.push({
      change: { op: "update_contact", contact_id: id, fields: fields },
      origin: { group: group },
    });
  }
  roleBoxes(group).forEach((box) => {
    if (box.checked !== box.defaultChecked) {
      const op = box.checked ? "grant_role" : "revoke_role";
      items.push({
        change: { op: op, contact_id: id, role: box.dataset.role },
        origin: { group: group, box: box },
      });
    }
  });
  const target = group.dataset.target;
  if (target && target !== group.dataset.status) {
    const op = target === "active" ? "reactivate_contact" : "deactivate_contact";
    items.push({ change: { op: op, contact_id: id }, origin: { group: group } });
  }
  return items;
}

/** `changes` for the server, and `origins[n]`: where item n came from on the page. */
export function readBatch(table, delegations) {
  const groups = contactGroups(table);
  const items = [
    ...groups.filter(isNew).map(newContactItem),
    ...groups.filter((group) => !isNew(group)).flatMap(existingContactItems),
    ...delegationItems(delegations),
  ];
  return {
    changes: items.map((item) => item.change),
    origins: items.map((item) => item.origin),
  };
}
