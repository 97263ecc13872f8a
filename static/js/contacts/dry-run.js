/*
 * The dry-run client: after each edit (and a short pause, so typing sends one call, not one
 * per key) it asks the server to check the batch, and keeps the answer for the batch as it is
 * now: its errors and warnings, the counts after it, and the server's readable line for each
 * item, which the review dialog shows. An answer to an older batch is dropped; a newer edit
 * cancels the call in flight.
 */
import { currentAnswer, postJson, usable } from "./server.js";

const CHECK_DELAY_MS = 350;

/**
 * `read()` gives the batch as it is now ({changes, origins}); `onAnswer(answer, origins)` gets
 * each current answer; `onFailure(reason, message)` is told of a call that could not check
 * ("session" when the session ended, "refused" with the server's message, "network").
 */
export function createDryRun({ url, baseVersion, read, onAnswer, onFailure }) {
  let sequence = 0;
  let timer = null;
  let inFlight = null;
  let checkedShape = null; // the batch (as JSON) that the latest check is for
  let latest = { sequence: 0, errors: [], warnings: [], changes: [] };

  async function check() {
    const mine = sequence;
    const batch = read();
    inFlight = new AbortController();
    const answer = await currentAnswer(
      postJson(url, { base_version: baseVersion, changes: batch.changes }, inFlight.signal),
      () => mine !== sequence,
      onFailure,
    );
    if (answer === null) {
      return;
    }
    inFlight = null;
    if (!usable(answer, onFailure, [200, 422])) {
      return;
    }
    latest = {
      sequence: mine,
      errors: answer.data.errors || [],
      warnings: answer.data.warnings || [],
      changes: answer.data.changes || [],
      projected: answer.data.projected || null,
    };
    onAnswer(latest, batch.origins);
  }

  /**
   * The batch changed, maybe: check it after a pause. Returns false when it is the batch
   * already checked: a field's "change" event (on blur) repeats what its "input" events sent,
   * and must not disable "Request Changes" under the click that blurred it.
   */
  function edited(batch) {
    const shape = JSON.stringify(batch.changes);
    if (shape === checkedShape) {
      return false;
    }
    checkedShape = shape;
    sequence += 1;
    clearTimeout(timer);
    if (inFlight) {
      inFlight.abort();
      inFlight = null;
    }
    if (batch.changes.length === 0) {
      latest = { sequence: sequence, errors: [], warnings: [], changes: [] };
    } else {
      timer = setTimeout(check, CHECK_DELAY_MS);
    }
    return true;
  }

  /** The server's answer for the batch as it is now, or null while none has come. */
  function current() {
    return latest.sequence === sequence ? latest : null;
  }

  return { edited: edited, current: current };
}
