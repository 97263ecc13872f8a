/*
 * The delegation panel below the table: "End this access" boxes add `revoke_delegate` items,
 * the organization typed under "Give another organization access" a `grant_delegate` item.
 * Problems with those items are shown under the name typed, or under the access to end.
 */
import { all, clean } from "./dom.js";

/** The panel's elements, or null on a page without one. */
export function findDelegations() {
  const panel = document.getElementById("delegations");
  if (!panel) {
    return null;
  }
  return {
    panel: panel,
    grantInput: document.getElementById("grant-delegate"),
    grantError: document.getElementById("grant-delegate-error"),
  };
}

export function delegationItems(delegations) {
  if (!delegations) {
    return [];
  }
  const items = all(delegations.panel, "input[data-delegate-revoke]")
    .filter((box) => box.checked)
    .map((box) => ({
      change: { op: "revoke_delegate", organization: box.dataset.delegateRevoke },
      origin: { delegation: { box: box } },
    }));
  const slug = delegations.grantInput ? clean(delegations.grantInput.value) : null;
  if (slug) {
    items.push({
      change: { op: "grant_delegate", organization: slug.toLowerCase() },
      origin: { delegation: { input: delegations.grantInput } },
    });
  }
  return items;
}

export function showDelegationProblem(delegations, origin, message) {
  const control = origin.input || origin.box;
  const target = origin.input
    ? delegations.grantError
    : document.getElementById(control.getAttribute("aria-describedby"));
  target.textContent = target.hidden ? message : target.textContent + " " + message;
  target.hidden = false;
  control.setAttribute("aria-invalid", "true");
  if (origin.input) {
    control.setAttribute("aria-describedby", "grant-delegate-hint grant-delegate-error");
    control.closest(".field").classList.add("has-error");
  }
}

export function clearDelegationProblems(delegations) {
  if (!delegations) {
    return;
  }
  const panel = delegations.panel;
  all(panel, ".field-error").forEach((el) => {
    el.textContent = "";
    el.hidden = true;
  });
  all(panel, "[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  all(panel, ".has-error").forEach((el) => el.classList.remove("has-error"));
  if (delegations.grantInput) {
    delegations.grantInput.setAttribute("aria-describedby", "grant-delegate-hint");
  }
}

/** The panel's controls exist for the script: without it the panel is read-only. */
export function revealDelegations(delegations) {
  if (delegations) {
    all(delegations.panel, ".delegate-revoke, .delegate-grant").forEach((node) => {
      node.hidden = false;
    });
  }
}

/** Back to no change of delegated access. */
export function resetDelegations(delegations) {
  if (delegations) {
    all(delegations.panel, "input[data-delegate-revoke]").forEach((box) => {
      box.checked = false;
    });
    if (delegations.grantInput) {
      delegations.grantInput.value = "";
    }
  }
}

/** Every edit in the panel calls `onChange`; Enter in its field must not submit the page. */
export function watchDelegations(delegations, onChange) {
  if (!delegations) {
    return;
  }
  delegations.panel.addEventListener("input", onChange);
  delegations.panel.addEventListener("change", onChange);
  if (delegations.grantInput) {
    delegations.grantInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
      }
    });
  }
}
