/*
 * The header of each required role counts its active holders: the roster's counts as the
 * server keeps them, or, once the dry run has answered, the counts after the batch. A role
 * nobody would hold is marked; the server's problem about it is in the action bar's list.
 */
import { plural } from "./dom.js";

export function showHolders(roles, holders) {
  roles.filter((role) => role.required).forEach((role) => {
    const count = holders[role.code] || 0;
    role.header.querySelector(".holders").textContent = count === 0
      ? "No active holder"
      : count + plural(count, " active holder", " active holders");
    role.header.classList.toggle("is-unheld", count === 0);
  });
}

/** The role columns of the table, in order, from the header cells. */
export function readRoles(table) {
  return Array.from(table.querySelectorAll("thead th[data-role]")).map((th) => ({
    code: th.dataset.role,
    name: th.dataset.roleName,
    required: th.dataset.required === "true",
    header: th,
  }));
}
