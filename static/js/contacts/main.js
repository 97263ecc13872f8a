/*
 * The contacts manager: turns edits in the roster table into one change-request batch.
 *
 * Every edit re-reads the batch from the page (batch.js), shows on each row what it would do
 * (rows.js, required-roles.js), and asks the server's dry run for every problem (dry-run.js),
 * which problems.js shows next to the field or row each one names. "Request Changes" opens
 * the review dialog with the server's own lines for the batch and submits it (review.js).
 * Below the table, the delegation panel adds `grant_delegate` / `revoke_delegate` items to the
 * same batch (delegations.js).
 */
import {
  allowRequest, findActionBar, pendingCount, setStatus, showCheck, showCount,
} from "./action-bar.js";
import { createAddContact } from "./add-contact.js";
import { readBatch } from "./batch.js";
import { findDelegations, watchDelegations } from "./delegations.js";
import { createDryRun } from "./dry-run.js";
import { createProblems } from "./problems.js";
import { refreshRequiredRoles } from "./required-roles.js";
import { findReview, openReview, showSubmitted, submitReview } from "./review.js";
import { contactGroups, readRoles } from "./roster.js";
import { refreshRow, unmarkRows, watchRows } from "./rows.js";

const SESSION_ENDED = "Your session has ended. Sign in again in another tab, then try again.";
const NOT_CHECKED = "The changes could not be checked. Try again.";
const NETWORK_DOWN = "The changes could not be checked: is the network down? Edit again to retry.";

function start(editor) {
  const table = editor.querySelector("table.roster");
  const baseVersion = Number(editor.dataset.version);
  const addButton = document.getElementById("add-contact");
  const banner = document.getElementById("batch-issues");
  const requiredWarning = document.getElementById("required-warning");
  const bar = findActionBar();
  const review = findReview();
  const delegations = findDelegations();
  const roles = readRoles(table);
  const roleNames = Object.fromEntries(roles.map((role) => [role.code, role.name]));
  const problems = createProblems({ table: table, banner: banner, delegations: delegations });
  const read = () => readBatch(table, delegations);
  let submitted = false;

  function requestable() {
    const answer = dryRun.current();
    return !submitted && answer !== null && answer.errors.length === 0;
  }

  const dryRun = createDryRun({
    url: editor.dataset.validateUrl,
    baseVersion: baseVersion,
    read: read,
    onAnswer(answer, origins) {
      problems.show(answer.errors, origins);
      showCheck(bar, answer);
      allowRequest(bar, requestable());
    },
    onFailure(reason, message) {
      const text = { session: SESSION_ENDED, network: NETWORK_DOWN }[reason];
      setStatus(bar, text || message || NOT_CHECKED, "error");
    },
  });

  function changed() {
    if (submitted) {
      return;
    }
    contactGroups(table).forEach((group) => refreshRow(group, roleNames));
    refreshRequiredRoles(table, roles, requiredWarning);
    const batch = read();
    showCount(bar, batch.changes.length);
    if (!dryRun.edited(batch)) {
      return;
    }
    if (batch.changes.length === 0) {
      problems.clear();
      setStatus(bar, "", "");
    } else {
      setStatus(bar, "Checking your changes…", "busy");
    }
    allowRequest(bar, requestable());
  }

  const newContacts = createAddContact({
    table: table,
    template: document.getElementById("new-contact-template"),
    button: addButton,
    onChange: changed,
  });

  function discard() {
    newContacts.removeAll();
    unmarkRows(contactGroups(table));
    editor.reset();
    changed();
  }

  function submit() {
    submitReview(review, {
      url: editor.dataset.submitUrl,
      baseVersion: baseVersion,
      read: read,
      onSubmitted(data) {
        submitted = true;
        showSubmitted(data, [editor, bar.bar, addButton, requiredWarning, banner]);
      },
      onProblems(errors, origins) {
        problems.show(errors, origins);
        setStatus(bar, errors.length + " problem(s) to fix", "error");
      },
    });
  }

  watchRows(table, addButton, changed);
  watchDelegations(delegations, changed);
  bar.discard.addEventListener("click", discard);
  bar.request.addEventListener("click", () => openReview(review, dryRun.current()));
  review.submit.addEventListener("click", submit);
  window.addEventListener("beforeunload", (event) => {
    if (!submitted && pendingCount(bar) > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  changed();
}

const editor = document.getElementById("roster-editor");
if (editor && editor.dataset.editable === "true") {
  start(editor);
}
