/*
 * Problems next to their fields. The server names where each one is with a `path`
 * (`changes/3/contact/email`, `changes/5/role`, `changes/5`): a field's problem is shown under
 * the field, an item's under its row or its delegation, and a problem of the whole batch
 * (`base_version`, `changes`) in the banner above the table.
 */
import { addItem, all } from "./dom.js";
import { clearDelegationProblems, showDelegationProblem } from "./delegations.js";
import { openDetails } from "./rows.js";

function fieldProblem(input, message) {
  const holder = document.getElementById(input.id + "-error");
  holder.textContent = holder.textContent ? holder.textContent + " " + message : message;
  holder.hidden = false;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", holder.id);
  input.closest(".field").classList.add("has-error");
  openDetails(input.closest("tbody.contact"), false);
}

function rowProblem(group, message, box) {
  const list = group.querySelector(".issues");
  addItem(list, message);
  list.closest(".issues-row").hidden = false;
  if (box) {
    box.setAttribute("aria-invalid", "true");
    box.setAttribute("aria-describedby", list.id);
    box.parentElement.classList.add("has-error");
  }
}

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
  return { origin: origin, field: field || null };
}

export function createProblems({ table, banner, delegations }) {
  const bannerList = banner.querySelector("ul");

  function clear() {
    all(table, ".field-error").forEach((el) => {
      el.textContent = "";
      el.hidden = true;
    });
    all(table, "[aria-invalid]").forEach((el) => {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    all(table, ".has-error").forEach((el) => el.classList.remove("has-error"));
    all(table, ".issues").forEach((list) => {
      list.textContent = "";
    });
    all(table, ".issues-row").forEach((row) => {
      row.hidden = true;
    });
    bannerList.textContent = "";
    banner.hidden = true;
    clearDelegationProblems(delegations);
  }

  /** Show every error of the server's answer where it belongs. */
  function show(errors, origins) {
    clear();
    const general = [];
    errors.forEach((error) => {
      const place = locate(error, origins);
      if (!place) {
        general.push(error.message);
        return;
      }
      const origin = place.origin;
      if (origin.delegation) {
        showDelegationProblem(delegations, origin.delegation, error.message);
        return;
      }
      const input = place.field && origin.group.querySelector('[data-field="' + place.field + '"]');
      if (input) {
        fieldProblem(input, error.message);
      } else {
        rowProblem(origin.group, error.message, origin.box);
      }
    });
    general.forEach((message) => addItem(bannerList, message));
    banner.hidden = general.length === 0;
  }

  return { clear: clear, show: show };
}
