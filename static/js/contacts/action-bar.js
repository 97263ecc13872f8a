/*
 * The action bar at the bottom of the page: how many changes are pending, what the check
 * found, and the Discard and Request Changes buttons.
 */
import { plural } from "./dom.js";

export function findActionBar() {
  return {
    bar: document.getElementById("action-bar"),
    count: document.getElementById("change-count"),
    noun: document.getElementById("change-noun"),
    status: document.getElementById("check-status"),
    discard: document.getElementById("discard"),
    request: document.getElementById("request-changes"),
  };
}

export function showCount(bar, count) {
  bar.count.textContent = String(count);
  bar.noun.textContent = plural(count, "change", "changes");
  bar.discard.disabled = count === 0;
}

export function pendingCount(bar) {
  return Number(bar.count.textContent);
}

export function setStatus(bar, text, kind) {
  bar.status.textContent = text;
  bar.status.className = "check-status" + (kind ? " is-" + kind : "");
}

/** What the server's check of the batch found, in a few words. */
export function showCheck(bar, answer) {
  const errors = answer.errors.length;
  const warnings = answer.warnings.length;
  if (errors) {
    setStatus(bar, errors + plural(errors, " problem", " problems") + " to fix", "error");
  } else if (warnings) {
    const noun = plural(warnings, " warning", " warnings");
    setStatus(bar, "Ready, with " + warnings + noun, "warning");
  } else {
    setStatus(bar, "No problems found", "ok");
  }
}

/** Request Changes needs changes, checked by the server as they are now and found fine. */
export function allowRequest(bar, allowed) {
  bar.request.disabled = !allowed || pendingCount(bar) === 0;
}
