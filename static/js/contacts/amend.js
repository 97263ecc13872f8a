/*
 * Amending a pending request: the page carries that request's items (`data-amend-items`) and
 * the contacts they name (`data-amend-contacts`). They are put back into the batch, the new
 * contacts' cards and the delegation panel, as if prepared here, so the admin changes what
 * was asked instead of starting again.
 */
import { all } from "./dom.js";

export function restoreAmendment({ editor, batch, newContacts, delegations }) {
  if (!editor.dataset.amendItems) {
    return;
  }
  batch.remember(JSON.parse(editor.dataset.amendContacts || "[]"));
  const refs = new Map(); // the ref in the stored batch -> the ref of its card here
  JSON.parse(editor.dataset.amendItems).forEach((item) => {
    const known = item.contact_id !== undefined && batch.contact(item.contact_id);
    if (item.op === "add_contact") {
      refs.set(item.ref, newContacts.restore(item.contact || {}, item.roles || []));
    } else if ((item.op === "grant_role" || item.op === "revoke_role") && item.ref) {
      newContacts.setRole(refs.get(item.ref), item.role, item.op === "grant_role");
    } else if (item.op === "grant_role" || item.op === "revoke_role") {
      if (known) {
        batch.setRole(item.contact_id, item.role, item.op === "grant_role");
      }
    } else if (item.op === "update_contact" && known) {
      Object.entries(item.fields || {}).forEach(([name, value]) => {
        batch.setField(item.contact_id, name, value === null ? "" : String(value));
      });
    } else if ((item.op === "deactivate_contact" || item.op === "reactivate_contact") && known) {
      batch.flipStatus(item.contact_id);
    } else if (item.op === "delete_contact" && known) {
      batch.flipRemove(item.contact_id);
    } else if (item.op === "revoke_delegate" && delegations) {
      all(delegations.panel, "input[data-delegate-revoke]")
        .filter((box) => box.dataset.delegateRevoke === item.organization)
        .forEach((box) => { box.checked = true; });
    } else if (item.op === "grant_delegate" && delegations && delegations.grantInput) {
      delegations.grantInput.value = item.organization;
    }
  });
}
