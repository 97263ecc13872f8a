"""`GET /api/tickets`: the staff queue's filters, search, order, pages and counts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.extensions import db
from service.tickets.models import Ticket
from tests.jobs import run_jobs
from tests.tickets.support import STAFF, STAFF2, listing, new_contact, raise_ticket, refs_of

ORGS = [("alpha", "Alpha Analytics"), ("bravo", "Bravo Builders"), ("charlie", "Charlie 100% Co")]


@pytest.fixture
def queue(client, factory):
    """One ticket per organization: alpha cancelled then open again, bravo assigned to staff2."""
    factory.staff(STAFF)
    factory.staff(STAFF2)
    admins = {}
    for slug, name in ORGS:
        org_id = factory.org(slug, name=name)
        factory.contact(org_id, f"admin@{slug}.example", ["cust_admin"], account="active")
        factory.contact(org_id, f"money@{slug}.example", ["financial"])
        admins[slug] = factory.headers(f"admin@{slug}.example")
    refs = {slug: raise_ticket(client, admins[slug], org=slug) for slug, _ in ORGS}
    staff = factory.headers(STAFF)
    client.post(f"/api/tickets/{refs['alpha']}/cancel", json={}, headers=admins["alpha"])
    refs["alpha2"] = raise_ticket(
        client, admins["alpha"], [new_contact(email="two@alpha.example")], org="alpha"
    )
    client.post(f"/api/tickets/{refs['bravo']}/assign", json={"assignee": STAFF2}, headers=staff)
    return {"refs": refs, "staff": staff, "admins": admins, "staff2": factory.headers(STAFF2)}


def test_staff_see_every_ticket_oldest_first_with_counts_per_status(client, queue):
    page = listing(client, queue["staff"])
    refs = queue["refs"]
    assert refs_of(page) == [refs["alpha"], refs["bravo"], refs["charlie"], refs["alpha2"]]
    assert page["total"] == 4
    assert page["counts"]["open"] == 3
    assert page["counts"]["cancelled"] == 1
    assert page["items"][1]["assignee"] == STAFF2
    assert page["items"][0]["organization_name"] == "Alpha Analytics"


def test_status_filter_takes_one_or_several_statuses(client, queue):
    assert listing(client, queue["staff"], "?status=cancelled")["total"] == 1
    both = listing(client, queue["staff"], "?status=open,cancelled")
    assert both["total"] == 4
    bad = client.get("/api/tickets?status=lost", headers=queue["staff"])
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["path"] == "status"


def test_organization_and_assignee_filters(client, queue):
    refs = queue["refs"]
    assert refs_of(listing(client, queue["staff"], "?organization=alpha")) == [
        refs["alpha"],
        refs["alpha2"],
    ]
    assert refs_of(listing(client, queue["staff2"], "?assignee=me")) == [refs["bravo"]]
    assert refs_of(listing(client, queue["staff"], f"?assignee={STAFF2}")) == [refs["bravo"]]
    assert refs["bravo"] not in refs_of(listing(client, queue["staff"], "?assignee=none"))


def test_search_by_reference_or_organization_name(client, queue):
    refs = queue["refs"]
    assert refs_of(listing(client, queue["staff"], f"?q={refs['charlie']}")) == [refs["charlie"]]
    assert refs_of(listing(client, queue["staff"], "?q=bravo")) == [refs["bravo"]]
    # Wildcards in the search text are taken literally.
    assert refs_of(listing(client, queue["staff"], "?q=100%25")) == [refs["charlie"]]
    assert listing(client, queue["staff"], "?q=%25%25zz")["total"] == 0


def test_pages_and_newest_first_sort(client, queue):
    refs = queue["refs"]
    first = listing(client, queue["staff"], "?per_page=3&sort=-created_at")
    assert refs_of(first) == [refs["alpha2"], refs["charlie"], refs["bravo"]]
    assert (first["page"], first["per_page"], first["total"]) == (1, 3, 4)
    second = listing(client, queue["staff"], "?per_page=3&page=2&sort=-created_at")
    assert refs_of(second) == [refs["alpha"]]
    assert client.get("/api/tickets?per_page=500", headers=queue["staff"]).status_code == 422


def test_customer_admins_see_only_their_organizations_tickets(client, queue):
    refs = queue["refs"]
    page = listing(client, queue["admins"]["bravo"])
    assert refs_of(page) == [refs["bravo"]]
    assert page["counts"]["open"] == 1
    assert listing(client, queue["admins"]["bravo"], "?organization=alpha")["total"] == 0


def test_the_queue_needs_a_token(client, queue):
    assert client.get("/api/tickets").status_code == 401


def test_the_maintained_counts_match_a_full_recount(app, client, queue):
    client.post(
        f"/api/tickets/{queue['refs']['bravo']}/comments",
        json={"body": "?", "query": True},
        headers=queue["staff"],
    )
    client.post(f"/api/tickets/{queue['refs']['charlie']}/approve", headers=queue["staff"])
    client.post(
        f"/api/tickets/{queue['refs']['alpha2']}/reject",
        json={"reason": "no"},
        headers=queue["staff"],
    )

    run_jobs(app)
    with app.app_context():
        recount = dict(
            db.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
        )
    counts = listing(client, queue["staff"])["counts"]
    assert {k: v for k, v in counts.items() if v} == {s.value: n for s, n in recount.items()}
    assert counts["implemented"] == 1 and counts["awaiting_customer"] == 1
