/*
 * The contacts manager: turns edits in the roster table into one change-request batch.
 *
 * Every edit rebuilds the batch from the page (the server rendered each input's original value
 * as its default, so a change is simply "value differs from default"), asks the dry-run call
 * for every problem, and shows each one next to the field or row its `path` names
 * (`changes/3/contact/email`, `changes/5/role`, `changes/5`). "Request Changes" submits the
 * whole batch. Below the table, "Delegated access" adds `grant_delegate` / `revoke_delegate`
 * items to the same batch. Both calls are same-origin JSON under /web/, authenticated by the session cookie
 * and the CSRF token from the page's <meta name="csrf-token">. Text is only ever set with
 * textContent: nothing typed here is parsed as HTML.
 */
(function () {
  "use strict";

  var editor = document.getElementById("roster-editor");
  if (!editor || editor.dataset.editable !== "true") {
    return;
  }

  var CHECK_DELAY_MS = 350;
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var table = editor.querySelector("table.roster");
  var template = document.getElementById("new-contact-template");
  var addButton = document.getElementById("add-contact");
  var countEl = document.getElementById("change-count");
  var nounEl = document.getElementById("change-noun");
  var statusEl = document.getElementById("check-status");
  var discardButton = document.getElementById("discard");
  var requestButton = document.getElementById("request-changes");
  var batchIssues = document.getElementById("batch-issues");
  var requiredWarning = document.getElementById("required-warning");
  var dialog = document.getElementById("review-dialog");
  var reviewLines = document.getElementById("review-lines");
  var reviewWarnings = document.getElementById("review-warnings");
  var reviewComment = document.getElementById("review-comment");
  var reviewError = document.getElementById("review-error");
  var reviewSubmit = document.getElementById("review-submit");
  var submittedPanel = document.getElementById("submitted");
  var delegations = document.getElementById("delegations");
  var grantInput = document.getElementById("grant-delegate");
  var grantError = document.getElementById("grant-delegate-error");

  var roles = Array.prototype.map.call(table.querySelectorAll("thead th[data-role]"), function (th) {
    return { code: th.dataset.role, name: th.dataset.roleName, required: th.dataset.required === "true", header: th };
  });
  var roleNames = {};
  roles.forEach(function (role) { roleNames[role.code] = role.name; });

  var newCount = 0;
  var timer = null;
  var sequence = 0;
  var inFlight = null;
  var last = { sequence: 0, errors: [], warnings: [], ok: true };
  var submitted = false;
  var checkedShape = null;  // the batch (as JSON) that the latest check is for

  /* ---- reading the page ---------------------------------------------------------------- */

  function groups() {
    return Array.prototype.slice.call(table.querySelectorAll("tbody.contact"));
  }

  function clean(value) {
    var text = (value || "").trim();
    return text === "" ? null : text;
  }

  function originalValue(input) {
    if (input.tagName === "SELECT") {
      var chosen = Array.prototype.find.call(input.options, function (o) { return o.defaultSelected; });
      return clean(chosen ? chosen.value : "");
    }
    return clean(input.defaultValue);
  }

  function fieldInputs(group) {
    return Array.prototype.slice.call(group.querySelectorAll("[data-field]"));
  }

  function roleBoxes(group) {
    return Array.prototype.slice.call(group.querySelectorAll("input.role-box"));
  }

  function displayName(group) {
    if (!group.dataset.ref) {
      return group.dataset.name;
    }
    var first = clean(group.querySelector('[data-field="first_name"]').value);
    var last = clean(group.querySelector('[data-field="last_name"]').value);
    return [first, last].filter(Boolean).join(" ") || "the new contact";
  }

  /* The batch, in a fixed order, and for each item where on the page it came from. */
  function buildBatch() {
    var changes = [];
    var origins = [];
    groups().forEach(function (group) {
      if (!group.dataset.ref) { return; }
      var contact = {};
      fieldInputs(group).forEach(function (input) {
        var value = clean(input.value);
        if (value !== null) { contact[input.dataset.field] = value; }
      });
      var held = roleBoxes(group).filter(function (box) { return box.checked; })
        .map(function (box) { return box.dataset.role; });
      changes.push({ op: "add_contact", ref: group.dataset.ref, contact: contact, roles: held });
      origins.push({ group: group, kind: "add", roles: held });
    });
    groups().forEach(function (group) {
      if (group.dataset.ref) { return; }
      var id = Number(group.dataset.contactId);
      if (group.dataset.delete === "true") {
        changes.push({ op: "delete_contact", contact_id: id });
        origins.push({ group: group, kind: "delete" });
        return;
      }
      var fields = {};
      var changed = false;
      fieldInputs(group).forEach(function (input) {
        var value = clean(input.value);
        if (value !== originalValue(input)) {
          fields[input.dataset.field] = value;
          changed = true;
        }
      });
      if (changed) {
        changes.push({ op: "update_contact", contact_id: id, fields: fields });
        origins.push({ group: group, kind: "update", fields: fields });
      }
      roleBoxes(group).forEach(function (box) {
        if (box.checked !== box.defaultChecked) {
          var op = box.checked ? "grant_role" : "revoke_role";
          changes.push({ op: op, contact_id: id, role: box.dataset.role });
          origins.push({ group: group, kind: op, box: box });
        }
      });
      if (group.dataset.target && group.dataset.target !== group.dataset.status) {
        var reactivate = group.dataset.target === "active";
        changes.push({ op: reactivate ? "reactivate_contact" : "deactivate_contact", contact_id: id });
        origins.push({ group: group, kind: reactivate ? "reactivate" : "deactivate" });
      }
    });
    revokeBoxes().forEach(function (box) {
      if (box.checked) {
        changes.push({ op: "revoke_delegate", organization: box.dataset.delegateRevoke });
        origins.push({ kind: "revoke_delegate", organization: box.dataset.delegateRevoke, box: box });
      }
    });
    var slug = grantInput ? clean(grantInput.value) : null;
    if (slug) {
      changes.push({ op: "grant_delegate", organization: slug.toLowerCase() });
      origins.push({ kind: "grant_delegate", organization: slug.toLowerCase(), input: grantInput });
    }
    return { changes: changes, origins: origins };
  }

  function revokeBoxes() {
    return delegations ? Array.prototype.slice.call(delegations.querySelectorAll("input[data-delegate-revoke]")) : [];
  }

  /* One readable line per item, for the review dialog. */
  function describe(origin) {
    if (origin.kind === "grant_delegate") {
      return "Let the administrators of " + origin.organization + " manage these contacts";
    }
    if (origin.kind === "revoke_delegate") {
      return "End the access of " + origin.organization + " to these contacts";
    }
    var who = displayName(origin.group);
    switch (origin.kind) {
      case "add":
        return "Add " + who + (origin.roles.length ? " as " + origin.roles.map(function (c) { return roleNames[c]; }).join(", ") : "");
      case "update":
        return "Change " + Object.keys(origin.fields).map(function (f) { return f.replace("_", " "); }).join(", ") + " of " + who;
      case "grant_role":
        return "Grant " + roleNames[origin.box.dataset.role] + " to " + who;
      case "revoke_role":
        return "Revoke " + roleNames[origin.box.dataset.role] + " from " + who;
      case "deactivate":
        return "Deactivate " + who;
      case "reactivate":
        return "Reactivate " + who;
      case "delete":
        return "Delete " + who + " and erase their personal data";
    }
    return origin.kind;
  }

  /* ---- showing the state of each row --------------------------------------------------- */

  function refreshRow(group) {
    var deleted = group.dataset.delete === "true";
    var target = group.dataset.target;
    var flag = group.querySelector(".pending-flag");
    var flagText = "";
    if (deleted) {
      flagText = "Will be deleted";
    } else if (target && target !== group.dataset.status) {
      flagText = target === "active" ? "Will be reactivated" : "Will be deactivated";
    }
    flag.textContent = flagText;
    flag.hidden = flagText === "";
    group.classList.toggle("is-deleted", deleted);

    var statusButton = group.querySelector('[data-action="status"]');
    if (statusButton) {
      var changing = Boolean(target && target !== group.dataset.status);
      var current = group.dataset.status;
      statusButton.textContent = changing
        ? (current === "active" ? "Keep active" : "Keep deactivated")
        : (current === "active" ? "Deactivate" : "Reactivate");
      statusButton.setAttribute("aria-pressed", changing ? "true" : "false");
      statusButton.disabled = deleted;
    }
    var deleteButton = group.querySelector('[data-action="delete"]');
    if (deleteButton) {
      deleteButton.textContent = deleted ? "Undo delete" : "Delete";
      deleteButton.setAttribute("aria-pressed", deleted ? "true" : "false");
    }
    var changed = deleted || Boolean(target && target !== group.dataset.status) || Boolean(group.dataset.ref);
    roleBoxes(group).forEach(function (box) {
      box.disabled = deleted;
      var differs = !group.dataset.ref && box.checked !== box.defaultChecked;
      box.parentElement.classList.toggle("is-granted", differs && box.checked);
      box.parentElement.classList.toggle("is-revoked", differs && !box.checked);
      changed = changed || differs;
    });
    fieldInputs(group).forEach(function (input) {
      input.disabled = deleted;
      var differs = !group.dataset.ref && clean(input.value) !== originalValue(input);
      input.classList.toggle("is-changed", differs);
      changed = changed || differs;
    });
    group.classList.toggle("has-changes", changed);
    if (group.dataset.ref) {
      var name = displayName(group) === "the new contact" ? "New contact" : displayName(group);
      group.querySelector(".contact-name").textContent = name;
      roleBoxes(group).forEach(function (box) {
        box.setAttribute("aria-label", roleNames[box.dataset.role] + " — " + name);
      });
    }
  }

  /* Immediately, before the server answers: who would still hold each required role. */
  function refreshRequiredRoles() {
    var unheld = [];
    roles.forEach(function (role) {
      if (!role.required) { return; }
      var holders = groups().filter(function (group) {
        if (group.dataset.delete === "true") { return false; }
        var status = group.dataset.ref ? "active" : (group.dataset.target || group.dataset.status);
        var box = group.querySelector('input.role-box[data-role="' + role.code + '"]');
        return status === "active" && box && box.checked;
      }).length;
      var badge = role.header.querySelector(".holders");
      badge.textContent = holders === 0 ? "No active holder" : holders + " active holder" + (holders === 1 ? "" : "s");
      role.header.classList.toggle("is-unheld", holders === 0);
      if (holders === 0) { unheld.push(role.name); }
    });
    requiredWarning.textContent = unheld.length
      ? "After these changes no active contact would hold " + unheld.join(" and ") +
        ". Every organization must keep at least one, so grant " +
        (unheld.length === 1 ? "it" : "them") + " to another active contact before requesting the changes."
      : "";
    requiredWarning.hidden = unheld.length === 0;
  }

  /* ---- problems next to their fields ---------------------------------------------------- */

  function clearProblems() {
    table.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; el.hidden = true; });
    table.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    table.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    table.querySelectorAll(".issues").forEach(function (list) { list.textContent = ""; });
    table.querySelectorAll(".issues-row").forEach(function (row) { row.hidden = true; });
    batchIssues.querySelector("ul").textContent = "";
    batchIssues.hidden = true;
  }

  function addItem(list, text) {
    var item = document.createElement("li");
    item.textContent = text;
    list.appendChild(item);
  }

  function fieldProblem(input, message) {
    var holder = document.getElementById(input.id + "-error");
    holder.textContent = holder.textContent ? holder.textContent + " " + message : message;
    holder.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", holder.id);
    input.closest(".field").classList.add("has-error");
    openDetails(input.closest("tbody.contact"), false);
  }

  function rowProblem(group, message, box) {
    var list = group.querySelector(".issues");
    addItem(list, message);
    list.closest(".issues-row").hidden = false;
    if (box) {
      box.setAttribute("aria-invalid", "true");
      box.setAttribute("aria-describedby", list.id);
      box.parentElement.classList.add("has-error");
    }
  }

  /* A problem with a delegation item: under the name typed, or under the access to end. */
  function delegationProblem(origin, message) {
    var control = origin.input || origin.box;
    var target = origin.input ? grantError : document.getElementById(control.getAttribute("aria-describedby"));
    target.textContent = target.hidden ? message : target.textContent + " " + message;
    target.hidden = false;
    control.setAttribute("aria-invalid", "true");
    if (origin.input) {
      control.setAttribute("aria-describedby", "grant-delegate-hint grant-delegate-error");
      control.closest(".field").classList.add("has-error");
    }
  }

  function clearDelegationProblems() {
    if (!delegations) { return; }
    delegations.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; el.hidden = true; });
    delegations.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    delegations.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    if (grantInput) { grantInput.setAttribute("aria-describedby", "grant-delegate-hint"); }
  }

  function showProblems(errors, origins) {
    clearProblems();
    clearDelegationProblems();
    var general = [];
    errors.forEach(function (error) {
      var parts = (error.path || "").split("/");
      var origin = parts[0] === "changes" && /^\d+$/.test(parts[1] || "") ? origins[Number(parts[1])] : null;
      if (!origin) {
        general.push(error.message);
        return;
      }
      if (!origin.group) {
        delegationProblem(origin, error.message);
        return;
      }
      if ((parts[2] === "contact" || parts[2] === "fields") && parts[3]) {
        var input = origin.group.querySelector('[data-field="' + parts[3] + '"]');
        if (input) {
          fieldProblem(input, error.message);
          return;
        }
      }
      rowProblem(origin.group, error.message, origin.box);
    });
    var list = batchIssues.querySelector("ul");
    general.forEach(function (message) { addItem(list, message); });
    batchIssues.hidden = general.length === 0;
  }

  /* ---- talking to the server ------------------------------------------------------------ */

  function post(url, body, signal) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
      signal: signal
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "check-status" + (kind ? " is-" + kind : "");
  }

  function sessionEnded() {
    setStatus("Your session has ended. Sign in again in another tab, then try again.", "error");
  }

  function changed() {
    if (submitted) { return; }
    groups().forEach(refreshRow);
    refreshRequiredRoles();
    var batch = buildBatch();
    var count = batch.changes.length;
    countEl.textContent = String(count);
    nounEl.textContent = count === 1 ? "change" : "changes";
    discardButton.disabled = count === 0;
    // A field's "change" event (on blur) repeats what its "input" events already sent: the same
    // batch needs no new check, and must not disable "Request Changes" under a click that blurred it.
    var shape = JSON.stringify(batch.changes);
    if (shape === checkedShape) { return; }
    checkedShape = shape;
    sequence += 1;
    clearTimeout(timer);
    if (inFlight) { inFlight.abort(); inFlight = null; }
    if (count === 0) {
      clearProblems();
      clearDelegationProblems();
      last = { sequence: sequence, errors: [], warnings: [], ok: true };
      setStatus("", "");
      updateRequestButton();
      return;
    }
    setStatus("Checking your changes…", "busy");
    updateRequestButton();
    timer = setTimeout(check, CHECK_DELAY_MS);
  }

  function check() {
    var mine = sequence;
    var batch = buildBatch();
    inFlight = new AbortController();
    post(editor.dataset.validateUrl, { base_version: Number(editor.dataset.version), changes: batch.changes }, inFlight.signal)
      .then(function (answer) {
        if (mine !== sequence) { return; }
        inFlight = null;
        if (answer.status === 401) { sessionEnded(); return; }
        if (answer.status !== 200 && answer.status !== 422) {
          setStatus(answer.data.message || "The changes could not be checked. Try again.", "error");
          return;
        }
        var errors = answer.data.errors || [];
        last = { sequence: mine, errors: errors, warnings: answer.data.warnings || [], ok: errors.length === 0 };
        showProblems(errors, batch.origins);
        if (errors.length) {
          setStatus(errors.length + (errors.length === 1 ? " problem" : " problems") + " to fix", "error");
        } else if (last.warnings.length) {
          setStatus("Ready, with " + last.warnings.length + (last.warnings.length === 1 ? " warning" : " warnings"), "warning");
        } else {
          setStatus("No problems found", "ok");
        }
        updateRequestButton();
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        setStatus("The changes could not be checked: is the network down? Edit again to retry.", "error");
      });
  }

  function updateRequestButton() {
    var count = Number(countEl.textContent);
    requestButton.disabled = submitted || count === 0 || last.sequence !== sequence || !last.ok;
  }

  /* ---- review and submit ---------------------------------------------------------------- */

  function openReview() {
    var batch = buildBatch();
    reviewLines.textContent = "";
    batch.origins.forEach(function (origin) { addItem(reviewLines, describe(origin)); });
    var list = reviewWarnings.querySelector("ul");
    list.textContent = "";
    last.warnings.forEach(function (warning) { addItem(list, warning.message); });
    reviewWarnings.hidden = last.warnings.length === 0;
    reviewError.hidden = true;
    reviewSubmit.disabled = false;
    dialog.showModal();
  }

  function submit() {
    var batch = buildBatch();
    reviewSubmit.disabled = true;
    reviewError.hidden = true;
    var body = { base_version: Number(editor.dataset.version), changes: batch.changes, comment: clean(reviewComment.value) };
    post(editor.dataset.submitUrl, body)
      .then(function (answer) {
        if (answer.status === 201) {
          showSubmitted(answer.data);
          return;
        }
        if (answer.status === 401) {
          reviewError.textContent = "Your session has ended. Sign in again in another tab, then submit again.";
        } else if (answer.status === 422 && (answer.data.errors || []).length) {
          dialog.close();
          showProblems(answer.data.errors, batch.origins);
          setStatus(answer.data.errors.length + " problem(s) to fix", "error");
          return;
        } else {
          reviewError.textContent = answer.data.message || "The request could not be submitted. Try again.";
        }
        reviewError.hidden = false;
        reviewSubmit.disabled = false;
      })
      .catch(function () {
        reviewError.textContent = "The request could not be sent: is the network down? Try again.";
        reviewError.hidden = false;
        reviewSubmit.disabled = false;
      });
  }

  function showSubmitted(data) {
    submitted = true;
    dialog.close();
    var link = document.getElementById("submitted-link");
    var button = document.getElementById("submitted-button");
    link.textContent = data.ticket.reference;
    link.href = data.ticket.url;
    button.href = data.ticket.url;
    button.textContent = "View request " + data.ticket.reference;
    var warnings = document.getElementById("submitted-warnings");
    if (data.warnings && data.warnings.length) {
      warnings.textContent = "Warnings shown to the reviewer: " + data.warnings.map(function (w) { return w.message; }).join(" ");
      warnings.hidden = false;
    }
    editor.hidden = true;
    document.getElementById("action-bar").hidden = true;
    addButton.hidden = true;
    requiredWarning.hidden = true;
    batchIssues.hidden = true;
    submittedPanel.hidden = false;
    submittedPanel.focus();
  }

  /* ---- editing -------------------------------------------------------------------------- */

  function openDetails(group, focus) {
    var toggle = group.querySelector("button.disclosure");
    var details = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", "true");
    details.hidden = false;
    if (focus) {
      var first = details.querySelector("[data-field]");
      if (first) { first.focus(); }
    }
  }

  function toggleDetails(toggle) {
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    document.getElementById(toggle.getAttribute("aria-controls")).hidden = open;
  }

  function addContact() {
    newCount += 1;
    var key = "n" + newCount;
    var fragment = template.content.cloneNode(true);
    fragment.querySelectorAll("[id], [for], [aria-controls], [aria-describedby]").forEach(function (el) {
      ["id", "for", "aria-controls", "aria-describedby"].forEach(function (name) {
        var value = el.getAttribute(name);
        if (value) { el.setAttribute(name, value.split("__KEY__").join(key)); }
      });
    });
    var group = fragment.querySelector("tbody.contact");
    group.dataset.ref = key;
    table.appendChild(fragment);
    openDetails(group, true);
    changed();
  }

  function reset() {
    groups().forEach(function (group) {
      if (group.dataset.ref) {
        group.remove();
        return;
      }
      delete group.dataset.delete;
      delete group.dataset.target;
    });
    editor.reset();
    newCount = 0;
    changed();
  }

  table.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !table.contains(button)) { return; }
    var group = button.closest("tbody.contact");
    if (button.classList.contains("disclosure")) {
      toggleDetails(button);
      return;
    }
    var action = button.dataset.action;
    if (action === "status") {
      var current = group.dataset.status;
      var flipped = current === "active" ? "deactivated" : "active";
      group.dataset.target = group.dataset.target === flipped ? current : flipped;
    } else if (action === "delete") {
      if (group.dataset.delete === "true") {
        delete group.dataset.delete;
      } else {
        group.dataset.delete = "true";
      }
    } else if (action === "remove") {
      var next = group.previousElementSibling;
      group.remove();
      (next && next.querySelector("button.disclosure") || addButton).focus();
    } else {
      return;
    }
    changed();
  });
  table.addEventListener("input", changed);
  table.addEventListener("change", changed);
  if (delegations) {
    delegations.addEventListener("input", changed);
    delegations.addEventListener("change", changed);
  }
  if (grantInput) {
    // Enter in the one field outside the table must not submit the page's form.
    grantInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }
  addButton.addEventListener("click", addContact);
  discardButton.addEventListener("click", reset);
  requestButton.addEventListener("click", openReview);
  reviewSubmit.addEventListener("click", submit);
  window.addEventListener("beforeunload", function (event) {
    if (!submitted && Number(countEl.textContent) > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  addButton.disabled = false;
  changed();
}());
