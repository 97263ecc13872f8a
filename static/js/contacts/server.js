/*
 * Talking to the server: same-origin JSON calls under /web/, authenticated by the session
 * cookie and the CSRF token from the page's <meta name="csrf-token">.
 */

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

/** POST `body` as JSON; resolves to the status and the parsed answer ({} when it is not JSON). */
export async function postJson(url, body, signal) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "Accept": "application/json",
      "X-CSRFToken": csrfToken,
    },
    body: JSON.stringify(body),
    signal: signal,
  });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data: data };
}

/** GET `url` with the query `params` (empty ones left out); the status and the parsed answer. */
export async function getJson(url, params, signal) {
  const query = new URLSearchParams();
  Object.entries(params).forEach(([name, value]) => {
    if (value !== null && value !== undefined && value !== "") {
      query.set(name, value);
    }
  });
  const response = await fetch(url + "?" + query.toString(), {
    credentials: "same-origin",
    headers: { "Accept": "application/json" },
    signal: signal,
  });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data: data };
}

/**
 * The answer of a `call` (a promise from postJson or getJson) that a newer call may have made
 * stale; null when there is nothing to act on: `isStale()` holds once it answers, a newer call
 * cancelled it, or it failed on the network (then `onFailure("network")` is told).
 */
export async function currentAnswer(call, isStale, onFailure) {
  let answer;
  try {
    answer = await call;
  } catch (error) {
    if (!(error && error.name === "AbortError")) {
      onFailure("network");
    }
    return null;
  }
  return isStale() ? null : answer;
}

/**
 * Whether a current answer is one to use: a 401 tells `onFailure("session")`, any status but
 * `statuses` tells `onFailure("refused", the server's message)`.
 */
export function usable(answer, onFailure, statuses = [200]) {
  if (answer.status === 401) {
    onFailure("session");
    return false;
  }
  if (!statuses.includes(answer.status)) {
    onFailure("refused", answer.data.message);
    return false;
  }
  return true;
}
