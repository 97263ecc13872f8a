/*
 * Search, filters and pages of the roster. Typing in the search box asks the server for the
 * first page of the matching contacts after a short pause (one call per pause, not per key; a
 * newer question cancels the one in flight); the role and status filters and the pages do the
 * same. "Has a pending change" lists the contacts the batch changes, from the batch itself.
 * The server pages with an opaque cursor and says where each page starts (`position`) and the
 * cursor of the page before it (`previous_cursor`), so a page opened from an address with a
 * cursor counts and pages back from where it is.
 */
import { el, plural } from "./dom.js";
import { currentAnswer, getJson, usable } from "./server.js";

const SEARCH_DELAY_MS = 200;
const PAGE_SIZE = 50;

function matches(contact, query) {
  const q = (query.q || "").trim().toLowerCase();
  const full = [contact.first_name || "", contact.last_name || ""].join(" ").toLowerCase();
  const texts = [contact.first_name, contact.last_name, contact.email, full]
    .map((text) => (text || "").toLowerCase());
  return (!q || texts.some((text) => text.startsWith(q))) &&
    (!query.role || contact.roles.includes(query.role)) &&
    (!query.status || contact.status === query.status);
}

export function createPaging({ url, form, pager, batch, firstPage, query, onPage, onFailure }) {
  const search = form.querySelector("#roster-q");
  const role = form.querySelector("#roster-role");
  const status = form.querySelector("#roster-status");
  const changed = form.querySelector("#roster-changed");
  const summary = pager.querySelector("#roster-summary");
  const nav = pager.querySelector("nav");
  const previous = el("button", { type: "button", class: "btn btn-secondary btn-small",
    id: "page-previous", text: "Previous page" });
  const next = el("button", { type: "button", class: "btn btn-secondary btn-small",
    id: "page-next", text: "Next page" });
  nav.textContent = "";
  nav.append(previous, next);
  changed.closest("label").hidden = false;

  let nextCursor = firstPage.next_cursor;
  let previousCursor = firstPage.previous_cursor || null;
  let first = firstPage.position || 0; // how many matching contacts come before the page
  let currentCursor = query.cursor || null; // the cursor of the page shown
  let timer = null;
  let inFlight = null;
  let sequence = 0;

  function params() {
    return { q: search.value.trim(), role: role.value, status: status.value };
  }

  function showSummary(count, total) {
    summary.textContent = total === 0
      ? "No contacts match."
      : (count ? (first + 1) + "–" + (first + count) : "0") + " of " +
        total.toLocaleString("en-GB") + plural(total, " contact", " contacts");
    previous.disabled = first === 0;
    next.disabled = !nextCursor;
  }

  function showAnswer(page) {
    batch.remember(page.contacts);
    nextCursor = page.next_cursor;
    previousCursor = page.previous_cursor || null;
    first = page.position || 0;
    showSummary(page.contacts.length, page.total);
    onPage(page.contacts, page);
  }

  function showChanged() {
    const found = batch.changedContacts().filter((contact) => matches(contact, params()));
    const shown = found.slice(first, first + PAGE_SIZE);
    nextCursor = first + PAGE_SIZE < found.length ? String(first + PAGE_SIZE) : null;
    showSummary(shown.length, found.length);
    onPage(shown, null);
  }

  async function load(cursor) {
    currentCursor = cursor;
    sequence += 1;
    const mine = sequence;
    clearTimeout(timer);
    if (inFlight) {
      inFlight.abort();
    }
    if (changed.checked) {
      inFlight = null;
      showChanged();
      return;
    }
    inFlight = new AbortController();
    const answer = await currentAnswer(
      getJson(url, { ...params(), cursor: cursor }, inFlight.signal),
      () => mine !== sequence,
      onFailure,
    );
    if (answer === null) {
      return;
    }
    inFlight = null;
    if (usable(answer, onFailure)) {
      showAnswer(answer.data);
    }
  }

  function restart() {
    first = 0;
    load(null);
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(restart, SEARCH_DELAY_MS);
  });
  [role, status, changed].forEach((control) => control.addEventListener("change", restart));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    restart();
  });
  next.addEventListener("click", () => {
    if (!nextCursor) {
      return;
    }
    if (changed.checked) {
      first += PAGE_SIZE;
    }
    load(nextCursor);
  });
  previous.addEventListener("click", () => {
    if (first === 0) {
      return;
    }
    if (changed.checked) {
      first = Math.max(0, first - PAGE_SIZE);
    }
    load(previousCursor);
  });

  showSummary(firstPage.contacts.length, firstPage.total);

  return {
    /** Show the contacts with a pending change (to reach one named by a problem). */
    showChanged() {
      if (!changed.checked || search.value || role.value || status.value) {
        changed.checked = true;
        search.value = "";
        role.value = "";
        status.value = "";
      }
      first = 0;
      showChanged();
    },
    reload: () => load(currentCursor),
  };
}
