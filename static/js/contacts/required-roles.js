/*
 * Immediately, before the server answers: who would still hold each required role. The
 * header of each required role counts its active holders; a warning above the table names a
 * role that nobody would hold.
 */
import { plural } from "./dom.js";
import { contactGroups, isNew } from "./roster.js";

function activeHolders(table, role) {
  return contactGroups(table).filter((group) => {
    if (group.dataset.delete === "true") {
      return false;
    }
    const status = isNew(group) ? "active" : (group.dataset.target || group.dataset.status);
    const box = group.querySelector('input.role-box[data-role="' + role.code + '"]');
    return status === "active" && box && box.checked;
  }).length;
}

export function refreshRequiredRoles(table, roles, warning) {
  const unheld = [];
  roles.filter((role) => role.required).forEach((role) => {
    const holders = activeHolders(table, role);
    role.header.querySelector(".holders").textContent = holders === 0
      ? "No active holder"
      : holders + plural(holders, " active holder", " active holders");
    role.header.classList.toggle("is-unheld", holders === 0);
    if (holders === 0) {
      unheld.push(role.name);
    }
  });
  warning.textContent = unheld.length
    ? "After these changes no active contact would hold " + unheld.join(" and ") +
      ". Every organization must keep at least one, so grant " +
      plural(unheld.length, "it", "them") +
      " to another active contact before requesting the changes."
    : "";
  warning.hidden = unheld.length === 0;
}
