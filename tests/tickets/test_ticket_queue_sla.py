"""Service levels in the API: `sla` on every unfinished ticket of the queue and the detail, the
queue sorted by due time and filtered by `sla=due_soon` and `sla=overdue`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from service import clock
from service.extensions import db
from service.models_base import isoformat, utcnow
from service.tickets.models import Ticket
from tests.tickets.support import STAFF, listing, new_contact, raise_ticket, refs_of
from tests.tickets.test_service_levels import ALWAYS

ORGS = ("alpha", "bravo", "charlie", "delta")
H = timedelta(hours=1)


def set_sla(app, reference: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Ticket).where(Ticket.id == int(reference[3:])).values(**values))
        db.session.commit()


@pytest.fixture
def desk(app, client, factory, monkeypatch):
    """alpha: first response overdue; bravo: answered, resolution due in 2 h (due soon);
    charlie: due in days; delta: paused before its due time, which has passed since; and
    alpha's earlier ticket, cancelled."""
    monkeypatch.setitem(app.config, "BUSINESS_CALENDAR", ALWAYS)
    factory.staff(STAFF)
    admins = {}
    for slug in ORGS:
        org_id = factory.org(slug)
        factory.contact(org_id, f"admin@{slug}.example", ["cust_admin"], account="active")
        factory.contact(org_id, f"money@{slug}.example", ["financial"])
        admins[slug] = factory.headers(f"admin@{slug}.example")
    refs = {slug: raise_ticket(client, admins[slug], org=slug) for slug in ORGS}
    client.post(f"/api/tickets/{refs['alpha']}/cancel", json={}, headers=admins["alpha"])
    refs["finished"] = refs["alpha"]
    refs["alpha"] = raise_ticket(
        client, admins["alpha"], [new_contact(email="two@alpha.example")], org="alpha"
    )
    now = utcnow()
    set_sla(app, refs["alpha"], first_response_due=now - H, resolution_due=now + 30 * H)
    set_sla(
        app,
        refs["bravo"],
        first_response_due=now - 2 * H,
        first_responded_at=now - 3 * H,
        resolution_due=now + 2 * H,
    )
    set_sla(app, refs["charlie"], first_response_due=now + 50 * H, resolution_due=now + 90 * H)
    set_sla(
        app,
        refs["delta"],
        first_responded_at=now - 9 * H,
        first_response_due=now - 8 * H,
        resolution_due=now - H / 2,
        sla_paused_at=now - 5 * H,
    )
    return {"refs": refs, "staff": factory.headers(STAFF), "admins": admins, "now": now}


def test_every_unfinished_ticket_carries_its_service_levels(client, desk):
    rows = {i["reference"]: i for i in listing(client, desk["staff"])["items"]}
    refs, now = desk["refs"], desk["now"]
    assert rows[refs["alpha"]]["sla"] == {
        "first_response_due": isoformat(now - H),
        "resolution_due": isoformat(now + 30 * H),
        "first_responded_at": None,
        "breached": ["first_response"],
        "paused": False,
    }
    assert rows[refs["bravo"]]["sla"]["breached"] == []
    assert rows[refs["charlie"]]["sla"]["breached"] == []
    # Paused before its resolution fell due: judged as of the pause, nothing is missed.
    assert rows[refs["delta"]]["sla"]["breached"] == []
    assert rows[refs["delta"]]["sla"]["paused"] is True
    assert rows[refs["finished"]]["sla"] is None
    detail = client.get(f"/api/tickets/{refs['alpha']}", headers=desk["admins"]["alpha"])
    assert detail.get_json()["sla"] == rows[refs["alpha"]]["sla"]
    finished = client.get(f"/api/tickets/{refs['finished']}", headers=desk["staff"])
    assert finished.get_json()["sla"] is None


def test_a_response_after_its_due_time_stays_breached(app, client, desk):
    refs, now = desk["refs"], desk["now"]
    set_sla(app, refs["alpha"], first_responded_at=now - H / 2, resolution_due=now + 5 * H)
    row = client.get(f"/api/tickets/{refs['alpha']}", headers=desk["staff"]).get_json()
    assert row["sla"]["breached"] == ["first_response"]
    with clock.moved("6h"):
        row = client.get(f"/api/tickets/{refs['alpha']}", headers=desk["staff"]).get_json()
    assert row["sla"]["breached"] == ["first_response", "resolution"]


def test_the_queue_sorts_by_the_next_due_time_and_finished_tickets_come_last(client, desk):
    refs = desk["refs"]
    soonest = [refs[k] for k in ("alpha", "delta", "bravo", "charlie")]
    assert refs_of(listing(client, desk["staff"], "?sort=due")) == [*soonest, refs["finished"]]
    latest = list(reversed(soonest))
    assert refs_of(listing(client, desk["staff"], "?sort=-due")) == [*latest, refs["finished"]]


def test_overdue_and_due_soon_filters(client, desk):
    refs = desk["refs"]
    overdue = listing(client, desk["staff"], "?sla=overdue")
    assert refs_of(overdue) == [refs["alpha"]]
    assert overdue["total"] == 1 and overdue["counts"]["open"] == 1
    assert overdue["counts"]["cancelled"] == 0
    soon = listing(client, desk["staff"], "?sla=due_soon&sort=due")
    assert refs_of(soon) == [refs["bravo"]]
    # Two hours later the resolution of bravo is past, charlie still far.
    with clock.moved("3h"):
        assert refs_of(listing(client, desk["staff"], "?sla=overdue&sort=due")) == [
            refs["alpha"],
            refs["bravo"],
        ]


def test_a_customer_sees_only_its_own_overdue_tickets(client, desk):
    assert refs_of(listing(client, desk["admins"]["bravo"], "?sla=overdue")) == []
    page = listing(client, desk["admins"]["alpha"], "?sla=overdue")
    assert refs_of(page) == [desk["refs"]["alpha"]]


@pytest.mark.parametrize("query", ["?sla=late", "?sla=", "?sort=due_at", "?sla=overdue,due_soon"])
def test_unknown_filters_and_orders_are_refused(client, desk, query):
    response = client.get(f"/api/tickets{query}", headers=desk["staff"])
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"


def test_a_saved_view_keeps_the_sla_filter_and_the_order(client, desk):
    body = {"name": "Overdue", "query": {"sla": "overdue", "sort": "due"}}
    saved = client.post("/api/tickets/views", json=body, headers=desk["staff"])
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["query"] == {"sla": "overdue", "sort": "due"}


def test_the_sla_adds_no_statement_to_a_page_of_the_queue(app, client, desk):
    sent: list[str] = []

    def record(conn, cursor, statement, *args: Any) -> None:
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    counts = {}
    for query in ("?status=open", "?status=open&sort=due", "?sla=overdue", "?sla=due_soon"):
        listing(client, desk["staff"])
        event.listen(engine, "before_cursor_execute", record)
        try:
            listing(client, desk["staff"], query)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        counts[query] = len(sent)
        sent.clear()
    assert len(set(counts.values())) == 1, counts
