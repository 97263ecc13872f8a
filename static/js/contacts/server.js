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
