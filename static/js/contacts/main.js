/*
 * The contacts manager: turns edits of the roster into one change-request batch, at 5
 * contacts as at 5,000.
 *
 * The page shows one page of the roster at a time (paging.js: search as you type, filters,
 * pages, from `GET /web/orgs/<slug>/contacts`). Every change is kept in the batch (batch.js),
 * not in the table, so it survives searching and paging, and the action bar counts them all.
 * The table (table.js) draws each row from the batch and builds a contact's fields only when
 * its row is opened; new contacts are added in a panel above it (new-contacts.js). After each
 * edit the server's dry run (dry-run.js) checks the batch; its problems are listed in the
 * action bar, each a link to its row or field (problems.js), and the required roles' headers
 * count their holders after the batch (required-roles.js). "Request Changes" opens the review
 * dialog with the server's own lines for the batch and submits it (review.js). Below the table,
 * the delegation panel adds `grant_delegate` / `revoke_delegate` items (delegations.js).
 */
import {
  allowRequest, findActionBar, pendingCount, setStatus, showCheck, showCount,
} from "./action-bar.js";
import { restoreAmendment } from "./amend.js";
import { createBatch } from "./batch.js";
import {
  delegationItems, findDelegations, resetDelegations, revealDelegations, watchDelegations,
} from "./delegations.js";
import { createDryRun } from "./dry-run.js";
import { createNewContacts } from "./new-contacts.js";
import { createPaging } from "./paging.js";
import { createProblems } from "./problems.js";
import { readRoles, showHolders } from "./required-roles.js";
import { findReview, openReview, showSubmitted, submitReview } from "./review.js";
import { createTable } from "./table.js";

const SESSION_ENDED = "Your session has ended. Sign in again in another tab, then try again.";
const NOT_CHECKED = "The changes could not be checked. Try again.";
const NETWORK_DOWN = "The changes could not be checked: is the network down? Edit again to retry.";
const NOT_LOADED = "The contacts could not be loaded. Try again.";

function start(editor) {
  const tableElement = editor.querySelector("table.roster");
  const baseVersion = Number(editor.dataset.version);
  const firstPage = JSON.parse(editor.dataset.firstPage);
  const fieldDefs = JSON.parse(editor.dataset.fields);
  const salutations = JSON.parse(editor.dataset.salutations);
  const addButton = document.getElementById("add-contact");
  const bar = findActionBar();
  const review = findReview();
  const delegations = findDelegations();
  const roles = readRoles(tableElement);
  const batch = createBatch(roles.map((role) => role.code));
  let baseHolders = firstPage.holders;
  let submitted = false;
  let table = null;
  let paging = null;

  batch.remember(firstPage.contacts);
  const read = () => batch.read(delegationItems(delegations));

  function requestable() {
    const answer = dryRun.current();
    return !submitted && answer !== null && answer.errors.length === 0;
  }

  function jump(place) {
    if (place.delegation) {
      (place.delegation.input || place.delegation.box).focus();
      return;
    }
    if (place.ref) {
      const card = newContacts.cardOf(place.ref);
      if (card) {
        const target = (place.field && card.querySelector('[data-field="' + place.field + '"]')) ||
          card.querySelector("[data-field]");
        target.focus();
      }
      return;
    }
    let group = table.groupOf(place.id);
    if (!group) {
      paging.showChanged();
      group = table.groupOf(place.id);
    }
    if (!group) {
      return;
    }
    if (place.field) {
      table.openDetails(group, place.field);
      problems.mark();
    } else if (place.role) {
      group.querySelector('input.role-box[data-role="' + place.role + '"]').focus();
    } else {
      group.querySelector("button.disclosure").focus();
    }
  }

  const problems = createProblems({
    list: document.getElementById("problem-list"), batch: batch, delegations: delegations,
    jump: jump,
  });

  function showProblemCount(answer) {
    const shown = problems.count();
    if (answer.errors.length && shown === 0) {
      setStatus(bar, "Fill in the new contact's details", "warning");
    } else if (answer.errors.length) {
      setStatus(bar, shown + (shown === 1 ? " problem" : " problems") + " to fix", "error");
    } else {
      showCheck(bar, answer);
    }
  }

  const dryRun = createDryRun({
    url: editor.dataset.validateUrl,
    baseVersion: baseVersion,
    read: read,
    onAnswer(answer, origins) {
      problems.show(answer.errors, origins);
      showProblemCount(answer);
      showHolders(roles, (answer.projected && answer.projected.holders) || baseHolders);
      allowRequest(bar, requestable());
    },
    onFailure(reason, message) {
      const text = { session: SESSION_ENDED, network: NETWORK_DOWN }[reason];
      setStatus(bar, text || message || NOT_CHECKED, "error");
    },
  });

  function changed(what) {
    if (submitted) {
      return;
    }
    const batchNow = read();
    showCount(bar, batchNow.changes.length);
    if (!dryRun.edited(batchNow)) {
      if (what && (what.touched || what.opened)) {
        problems.render();
        const answer = dryRun.current();
        if (answer) {
          showProblemCount(answer);
        }
      }
      return;
    }
    if (batchNow.changes.length === 0) {
      problems.clear();
      showHolders(roles, baseHolders);
      setStatus(bar, "", "");
    } else {
      setStatus(bar, "Checking your changes…", "busy");
    }
    allowRequest(bar, requestable());
  }

  table = createTable({
    table: tableElement, batch: batch, roles: roles, fieldDefs: fieldDefs,
    salutations: salutations, rolesUrl: editor.dataset.rolesUrl, onChange: changed,
  });
  const newContacts = createNewContacts({
    panel: document.getElementById("new-contacts"),
    list: document.getElementById("new-contact-list"),
    button: addButton, batch: batch, roles: roles, fieldDefs: fieldDefs,
    salutations: salutations, onChange: changed,
  });
  paging = createPaging({
    url: editor.dataset.rosterUrl,
    form: document.getElementById("roster-filters"),
    pager: document.getElementById("roster-pager"),
    batch: batch,
    firstPage: firstPage,
    query: JSON.parse(editor.dataset.query),
    onPage(contacts, page) {
      if (page) {
        baseHolders = page.holders;
      }
      table.show(contacts);
      problems.mark();
    },
    onFailure(reason, message) {
      const text = { session: SESSION_ENDED }[reason];
      setStatus(bar, text || message || NOT_LOADED, "error");
    },
  });

  function discard() {
    batch.clear();
    newContacts.removeAll();
    resetDelegations(delegations);
    table.redraw();
    changed({});
    addButton.focus();
  }

  function submit() {
    submitReview(review, {
      url: editor.dataset.submitUrl,
      baseVersion: baseVersion,
      read: read,
      onSubmitted(data) {
        submitted = true;
        showSubmitted(data, [editor, bar.bar, addButton]);
      },
      onProblems(errors, origins) {
        problems.show(errors, origins);
        problems.revealAll();
        setStatus(bar, problems.count() + " problem(s) to fix", "error");
      },
    });
  }

  restoreAmendment({ editor, batch, newContacts, delegations });
  table.show(firstPage.contacts);
  revealDelegations(delegations);
  watchDelegations(delegations, changed);
  bar.bar.hidden = false;
  // Discarding asks first: the prepared changes are kept nowhere else.
  const discardDialog = document.getElementById("discard-dialog");
  bar.discard.addEventListener("click", () => {
    const count = read().changes.length;
    document.getElementById("discard-count").textContent =
      count === 1 ? "the change you prepared" : "the " + count + " changes you prepared";
    discardDialog.showModal();
  });
  document.getElementById("discard-confirm").addEventListener("click", () => {
    discardDialog.close();
    discard();
  });
  bar.request.addEventListener("click", () => openReview(review, dryRun.current()));
  review.submit.addEventListener("click", submit);
  window.addEventListener("beforeunload", (event) => {
    if (!submitted && pendingCount(bar) > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  changed({});
  editor.dataset.ready = "true";
  performance.mark("contacts-ready");
}

const editor = document.getElementById("roster-editor");
if (editor && editor.dataset.editable === "true") {
  start(editor);
}
