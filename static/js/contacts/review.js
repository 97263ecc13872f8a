/*
 * The review dialog: "Request Changes" shows the batch as the server's readable lines (the
 * dry run's, worded as the ticket will word them), the warnings, and a note for the reviewer;
 * "Submit request" sends the batch. When it is stored, the page shows the new request's link
 * in place of the editor.
 */
import { addItem, clean } from "./dom.js";
import { postJson } from "./server.js";

export function findReview() {
  return {
    dialog: document.getElementById("review-dialog"),
    lines: document.getElementById("review-lines"),
    warnings: document.getElementById("review-warnings"),
    comment: document.getElementById("review-comment"),
    error: document.getElementById("review-error"),
    submit: document.getElementById("review-submit"),
  };
}

/** Open the dialog on a checked batch: the server's `answer` to its dry run. */
export function openReview(review, answer) {
  review.lines.textContent = "";
  answer.changes.forEach((line) => addItem(review.lines, line.summary));
  const list = review.warnings.querySelector("ul");
  list.textContent = "";
  answer.warnings.forEach((warning) => addItem(list, warning.message));
  review.warnings.hidden = answer.warnings.length === 0;
  review.error.hidden = true;
  review.submit.disabled = false;
  review.dialog.showModal();
}

function showError(review, message) {
  review.error.textContent = message;
  review.error.hidden = false;
  review.submit.disabled = false;
}

/**
 * Submit the batch `read()` gives. On success `onSubmitted(answer)`; when the server finds
 * problems after all, the dialog closes and `onProblems(errors, origins)` shows them.
 */
export async function submitReview(review, { url, baseVersion, read, onSubmitted, onProblems }) {
  const batch = read();
  review.submit.disabled = true;
  review.error.hidden = true;
  const body = {
    base_version: baseVersion,
    changes: batch.changes,
    comment: clean(review.comment.value),
  };
  let answer;
  try {
    answer = await postJson(url, body);
  } catch (error) {
    showError(review, "The request could not be sent: is the network down? Try again.");
    return;
  }
  if (answer.status === 201) {
    review.dialog.close();
    onSubmitted(answer.data);
  } else if (answer.status === 401) {
    showError(review, "Your session has ended. Sign in again in another tab, then submit again.");
  } else if (answer.status === 422 && (answer.data.errors || []).length) {
    review.dialog.close();
    onProblems(answer.data.errors, batch.origins);
  } else {
    showError(review, answer.data.message || "The request could not be submitted. Try again.");
  }
}

/** The submitted panel in place of the editor: the new request's reference and link. */
export function showSubmitted(data, hide) {
  const link = document.getElementById("submitted-link");
  const button = document.getElementById("submitted-button");
  link.textContent = data.ticket.reference;
  link.href = data.ticket.url;
  button.href = data.ticket.url;
  button.textContent = "View request " + data.ticket.reference;
  const warnings = document.getElementById("submitted-warnings");
  if (data.warnings && data.warnings.length) {
    warnings.textContent = "Warnings shown to the reviewer: " +
      data.warnings.map((warning) => warning.message).join(" ");
    warnings.hidden = false;
  }
  hide.forEach((element) => {
    element.hidden = true;
  });
  const panel = document.getElementById("submitted");
  panel.hidden = false;
  panel.focus();
}
