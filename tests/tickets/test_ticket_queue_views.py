"""The staff queue for a working day: what each row says of its batch, the working view
(`assignee=me_or_none`), and staff's saved views (`/api/tickets/views`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from service.extensions import db
from tests.tickets.support import STAFF, STAFF2, listing, new_contact, raise_ticket


@pytest.fixture
def desk(client, factory) -> dict[str, Any]:
    """Three customers with one open ticket each: alpha's is mixed and needs two approvals,
    bravo's is assigned to staff2, charlie's to staff."""
    factory.staff(STAFF)
    factory.staff(STAFF2)
    factory.org("partner", kind="purchaser")
    admins, money = {}, {}
    for slug in ("alpha", "bravo", "charlie"):
        org_id = factory.org(slug)
        factory.contact(org_id, f"admin@{slug}.example", ["cust_admin"], account="active")
        money[slug] = factory.contact(org_id, f"money@{slug}.example", ["financial", "technical"])
        factory.contact(org_id, f"old@{slug}.example", ["technical"])
        admins[slug] = factory.headers(f"admin@{slug}.example")
    mixed = [
        {**new_contact(email="new1@alpha.example"), "roles": ["financial"]},
        new_contact(ref="n2", email="new2@alpha.example"),
        {"op": "revoke_role", "contact_id": money["alpha"], "role": "financial"},
        {"op": "delete_contact", "contact_id": money["alpha"] + 1},
        {"op": "grant_delegate", "organization": "partner"},
    ]
    refs = {"alpha": raise_ticket(client, admins["alpha"], mixed, org="alpha")}
    for slug in ("bravo", "charlie"):
        refs[slug] = raise_ticket(
            client, admins[slug], [new_contact(email=f"n@{slug}.example")], org=slug
        )
    staff = factory.headers(STAFF)
    for slug, who in (("bravo", STAFF2), ("charlie", STAFF)):
        assign = {"assignee": who}
        client.post(f"/api/tickets/{refs[slug]}/assign", json=assign, headers=staff)
    return {"refs": refs, "staff": staff, "staff2": factory.headers(STAFF2), "admins": admins}


def test_each_row_counts_the_kinds_of_change_and_the_approvals_in(client, desk):
    alpha = desk["refs"]["alpha"]
    assert client.post(f"/api/tickets/{alpha}/approve", headers=desk["staff"]).status_code == 200
    rows = {item["reference"]: item for item in listing(client, desk["staff"])["items"]}
    assert rows[alpha]["batch"] == {
        "changes": 5,
        "adds": 2,
        "deletions": 1,
        "required_role_removals": 1,
        "delegations": 1,
    }
    assert (rows[alpha]["approvals_required"], rows[alpha]["approvals_given"]) == (2, 1)
    bravo = rows[desk["refs"]["bravo"]]
    assert bravo["batch"]["changes"] == 1 and bravo["batch"]["adds"] == 1
    assert (bravo["approvals_required"], bravo["approvals_given"]) == (1, 0)


def test_the_working_view_is_mine_or_nobodys(client, desk):
    refs = desk["refs"]
    mine = [i["reference"] for i in listing(client, desk["staff"], "?assignee=me_or_none")["items"]]
    assert mine == [refs["alpha"], refs["charlie"]]
    page = listing(client, desk["staff2"], "?assignee=me_or_none&status=open")
    assert [i["reference"] for i in page["items"]] == [refs["alpha"], refs["bravo"]]
    assert page["total"] == 2 and page["counts"]["open"] == 2


def test_a_page_of_the_queue_costs_the_same_statements_at_any_size(app, client, desk):
    sent: list[str] = []

    def record(conn, cursor, statement, *args: Any) -> None:
        sent.append(statement)

    counts = {}
    with app.app_context():
        engine = db.engine
    for per_page in (1, 3):
        listing(client, desk["staff"])  # the token's first use warms nothing it counts
        event.listen(engine, "before_cursor_execute", record)
        try:
            listing(client, desk["staff"], f"?per_page={per_page}")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        counts[per_page] = len(sent)
        sent.clear()
    assert counts[1] == counts[3]
    assert counts[3] <= 6  # the token, the actor, then the queue's counts and page


def test_staff_save_list_and_delete_their_own_views(client, desk):
    body = {"name": "Waiting on us", "query": {"status": "open,failed", "assignee": "me_or_none"}}
    saved = client.post("/api/tickets/views", json=body, headers=desk["staff"])
    assert saved.status_code == 201, saved.get_json()
    view = saved.get_json()
    assert view["query"] == {"status": "open,failed", "assignee": "me_or_none"}
    assert view["url"].endswith(f"/tickets?view={view['id']}")
    again = client.post("/api/tickets/views", json=body, headers=desk["staff"])
    assert again.status_code == 409 and again.get_json()["code"] == "view_exists"

    listed = client.get("/api/tickets/views", headers=desk["staff"]).get_json()["items"]
    assert [v["name"] for v in listed] == ["Waiting on us"]
    assert client.get("/api/tickets/views", headers=desk["staff2"]).get_json()["items"] == []

    other = client.delete(f"/api/tickets/views/{view['id']}", headers=desk["staff2"])
    assert other.status_code == 404
    gone = client.delete(f"/api/tickets/views/{view['id']}", headers=desk["staff"])
    assert gone.status_code == 204
    assert client.get("/api/tickets/views", headers=desk["staff"]).get_json()["items"] == []


def test_views_are_checked_and_for_staff_only(client, desk):
    bad = client.post(
        "/api/tickets/views",
        json={"name": "x", "query": {"status": "lost", "page": 2}},
        headers=desk["staff"],
    )
    assert bad.status_code == 422
    paths = {e["path"] for e in bad.get_json()["errors"]}
    assert {"query/status", "query/page"} <= paths
    blank = client.post("/api/tickets/views", json={"name": " "}, headers=desk["staff"])
    assert blank.status_code == 422

    customer = desk["admins"]["alpha"]
    assert client.get("/api/tickets/views", headers=customer).status_code == 403
    body = {"name": "mine"}
    assert client.post("/api/tickets/views", json=body, headers=customer).status_code == 403
    assert client.delete("/api/tickets/views/1", headers=customer).status_code == 403
    assert client.get("/api/tickets/views").status_code == 401
    assert client.post("/api/tickets/views", json=body).status_code == 401
    assert client.delete("/api/tickets/views/1").status_code == 401
