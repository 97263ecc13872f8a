"""The ticket page's Approve names the revision it showed: staff who approve a page read before
the requester amended the batch are told so, and nothing is approved (also when the batch
erases people, where the page would first ask to confirm)."""

from __future__ import annotations

import re

import pytest

from tests.demo_ids import contact_ids
from tests.tickets.support import REQUESTER, STAFF, amend_ticket, new_contact, raise_ticket
from tests.web.forms import csrf_token, sign_in


def shown_revision(html: str) -> str:
    match = re.search(r'name="revision" value="(\d+)"', html)
    assert match, "the Approve form carries the revision it shows"
    return match.group(1)


@pytest.mark.parametrize("erases", [False, True])
def test_approving_a_page_read_before_an_amendment_is_refused(
    client, browser_client, factory, erases
):
    factory.demo()
    admin = factory.headers(REQUESTER)
    ids = contact_ids(factory)
    deletion = [{"op": "delete_contact", "contact_id": ids["grace.gill"]}] if erases else []
    reference = raise_ticket(client, admin, [new_contact(), *deletion])
    sign_in(browser_client, STAFF)
    page = f"/tickets/{reference}"
    revision = shown_revision(browser_client.get(page).get_data(as_text=True))
    assert revision == "1"

    amend_ticket(client, reference, admin, [new_contact("n2", "nico.new@acme.example"), *deletion])
    form = {"csrf_token": csrf_token(browser_client, page), "revision": revision}
    answer = browser_client.post(f"{page}/approve", data=form, follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "it is at revision 2, and you reviewed revision 1" in html
    ticket = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert (ticket["status"], ticket["approvals"]) == ("open", [])

    # The page now shows revision 2, and approving it works (after the confirmation, if any).
    revision = shown_revision(html)
    assert revision == "2"
    form = {"csrf_token": csrf_token(browser_client, page), "revision": revision}
    if erases:
        confirm = browser_client.post(f"{page}/approve", data=form).get_data(as_text=True)
        form["confirm"] = re.search(r'name="confirm" value="([^"]+)"', confirm).group(1)
        assert shown_revision(confirm) == "2"
    browser_client.post(f"{page}/approve", data=form)
    ticket = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    # Recorded: the batch applied, or (a deletion needs two approvals) the first one is in.
    assert ticket["status"] != "open" or [a["by"] for a in ticket["approvals"]] == [STAFF]
