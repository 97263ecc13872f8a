"""Service levels kept on the ticket (service/tickets/sla.py): due times from the plan and its
overrides, the first response, and the clock stopped while the ticket waits on the customer."""

from __future__ import annotations

from datetime import time, timedelta
from importlib.util import module_from_spec, spec_from_file_location

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, update

from service import business_hours, clock
from service.business_hours import Calendar
from service.config import PROJECT_ROOT
from service.extensions import db
from service.tickets.models import Ticket, TicketEvent, TicketStatus
from service.tickets.workflow import transition
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

_SPEC = spec_from_file_location(
    "service_levels_migration",
    PROJECT_ROOT / "migrations/versions/20261207_b9aec365cba4_second_release.py",
)
assert _SPEC is not None and _SPEC.loader is not None
MIGRATION = module_from_spec(_SPEC)
_SPEC.loader.exec_module(MIGRATION)
ALWAYS = Calendar(weekdays=frozenset(range(7)), start=time(0), end=time(23, 59, 59, 999999))


@pytest.fixture
def people(factory):
    factory.demo()
    return {email: factory.headers(email) for email in (STAFF, REQUESTER)}


@pytest.fixture
def always_open(app, monkeypatch):
    """Every moment is business time, so moving the clock moves the due times by as much."""
    monkeypatch.setitem(app.config, "BUSINESS_CALENDAR", ALWAYS)
    return ALWAYS


def ticket_row(app, reference: str) -> Ticket:
    with app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.id == int(reference[3:])))
        db.session.expunge(ticket)
        db.session.remove()
        return ticket


def post(client, headers, reference, suffix, body):
    response = client.post(f"/api/tickets/{reference}{suffix}", json=body, headers=headers)
    assert response.status_code < 300, response.get_json()
    return response


def test_a_new_ticket_is_due_by_its_organizations_plan(app, client, people):
    calendar = app.config["BUSINESS_CALENDAR"]
    ticket = ticket_row(app, raise_ticket(client, people[REQUESTER]))
    standard = app.config["SLA_PLANS"]["standard"]
    assert ticket.first_response_due == business_hours.add_hours(
        calendar, ticket.created_at, standard.first_response_hours
    )
    assert ticket.resolution_due == business_hours.add_hours(
        calendar, ticket.created_at, standard.resolution_hours
    )
    assert ticket.first_responded_at is None
    assert ticket.sla_paused_at is None


def test_staff_choose_the_plan_and_override_one_target(app, client, people):
    response = client.patch(
        "/api/orgs/acme",
        json={"plan": "premium", "sla_resolution_hours": 3},
        headers=people[STAFF],
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    premium = app.config["SLA_PLANS"]["premium"]
    assert body["plan"] == "premium"
    assert (body["sla_first_response_hours"], body["sla_resolution_hours"]) == (None, 3)
    assert body["service_levels"] == {
        "first_response_hours": premium.first_response_hours,
        "resolution_hours": 3,
    }
    ticket = ticket_row(app, raise_ticket(client, people[REQUESTER]))
    calendar = app.config["BUSINESS_CALENDAR"]
    assert ticket.first_response_due == business_hours.add_hours(
        calendar, ticket.created_at, premium.first_response_hours
    )
    assert ticket.resolution_due == business_hours.add_hours(calendar, ticket.created_at, 3)
    # Back to the plan's target.
    response = client.patch(
        "/api/orgs/acme", json={"sla_resolution_hours": None}, headers=people[STAFF]
    )
    assert response.get_json()["service_levels"]["resolution_hours"] == premium.resolution_hours


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"plan": "platinum"}, "unknown_plan", "plan"),
        ({"plan": "Premium!"}, "invalid_field", "plan"),
        ({"sla_first_response_hours": 0}, None, "sla_first_response_hours"),
        ({"sla_resolution_hours": 10_001}, None, "sla_resolution_hours"),
        ({"sla_resolution_hours": "8"}, None, "sla_resolution_hours"),
    ],
)
def test_a_plan_that_does_not_exist_or_a_target_out_of_range_is_refused(
    client, people, body, code, path
):
    response = client.patch("/api/orgs/acme", json=body, headers=people[STAFF])
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert [e["path"] for e in errors] == [path]
    if code is not None:
        assert errors[0]["code"] == code


def test_only_staff_set_service_levels(client, people):
    response = client.patch("/api/orgs/acme", json={"plan": "premium"}, headers=people[REQUESTER])
    assert response.status_code == 403


def test_a_question_responds_and_stops_the_clock_and_the_answer_moves_the_due_times(
    app, client, people, always_open
):
    reference = raise_ticket(client, people[REQUESTER])
    before = ticket_row(app, reference)
    post(client, people[STAFF], reference, "/comments", {"body": "Which team?", "query": True})
    paused = ticket_row(app, reference)
    assert paused.status == TicketStatus.AWAITING_CUSTOMER
    assert paused.first_responded_at is not None
    assert paused.sla_paused_at is not None
    assert (paused.first_response_due, paused.resolution_due) == (
        before.first_response_due,
        before.resolution_due,
    )
    # Less than a token lasts (ACCESS_TOKEN_TTL_SECONDS), so the customer is still signed in.
    with clock.moved("5h"):
        post(client, people[REQUESTER], reference, "/comments", {"body": "Ops."})
    resumed = ticket_row(app, reference)
    assert resumed.status == TicketStatus.OPEN
    assert resumed.sla_paused_at is None
    waited = business_hours.between(always_open, paused.sla_paused_at, resumed.updated_at)
    assert waited > timedelta(hours=5) - timedelta(seconds=1)
    assert resumed.resolution_due == business_hours.add(always_open, before.resolution_due, waited)
    assert resumed.first_response_due == business_hours.add(
        always_open, before.first_response_due, waited
    )
    # The first response stays the first.
    assert resumed.first_responded_at == paused.first_responded_at


def test_without_the_pause_the_clock_runs_while_the_customer_is_asked(
    app, client, people, monkeypatch
):
    monkeypatch.setitem(app.config, "SLA_PAUSE_WHILE_AWAITING_CUSTOMER", False)
    reference = raise_ticket(client, people[REQUESTER])
    before = ticket_row(app, reference)
    post(client, people[STAFF], reference, "/comments", {"body": "Which team?", "query": True})
    assert ticket_row(app, reference).sla_paused_at is None
    post(client, people[REQUESTER], reference, "/comments", {"body": "Ops."})
    after = ticket_row(app, reference)
    assert after.resolution_due == before.resolution_due


def test_a_ticket_cancelled_while_paused_ends_its_pause(app, client, people):
    reference = raise_ticket(client, people[REQUESTER])
    post(client, people[STAFF], reference, "/comments", {"body": "Which team?", "query": True})
    post(client, people[REQUESTER], reference, "/cancel", {})
    ticket = ticket_row(app, reference)
    assert ticket.status == TicketStatus.CANCELLED
    assert ticket.sla_paused_at is None


@pytest.mark.parametrize(
    ("who", "suffix", "body", "responds"),
    [
        (STAFF, "/comments", {"body": "Looking at it."}, True),
        (STAFF, "/comments", {"body": "Note to self.", "internal": True}, False),
        (REQUESTER, "/comments", {"body": "Any news?"}, False),
        (STAFF, "/approve", {}, True),
        (STAFF, "/reject", {"reason": "No."}, True),
        (REQUESTER, "/cancel", {}, False),
        (STAFF, "/assign", {"assignee": STAFF}, False),
    ],
)
def test_what_counts_as_the_first_response(app, client, people, who, suffix, body, responds):
    reference = raise_ticket(client, people[REQUESTER])
    post(client, people[who], reference, suffix, body)
    ticket = ticket_row(app, reference)
    assert (ticket.first_responded_at is not None) is responds
    if responds:
        assert ticket.first_responded_at >= ticket.created_at


def test_the_migration_gives_unfinished_tickets_their_due_times(app, client, people):
    """Tickets opened before service levels existed get them from the upgrade: due from when
    they opened, responded at staff's first question, paused while waiting on the customer."""
    reference = raise_ticket(client, people[REQUESTER])
    post(client, people[STAFF], reference, "/comments", {"body": "Which team?", "query": True})
    before = ticket_row(app, reference)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            update(Ticket).values(
                first_response_due=None,
                resolution_due=None,
                first_responded_at=None,
                sla_paused_at=None,
            )
        )
        with Operations.context(MigrationContext.configure(connection)):
            MIGRATION.service_levels_backfill()
    after = ticket_row(app, reference)
    calendar = app.config["BUSINESS_CALENDAR"]
    standard = app.config["SLA_PLANS"]["standard"]
    assert after.first_response_due == business_hours.add_hours(
        calendar, after.created_at, standard.first_response_hours
    )
    assert after.resolution_due == before.resolution_due
    with app.app_context():
        asked = db.session.scalar(select(TicketEvent.at).where(TicketEvent.action == "queried"))
    assert after.first_responded_at == asked
    assert after.sla_paused_at == before.updated_at


def test_a_move_from_a_stale_ticket_still_ends_the_pause_it_finds(app, client, people):
    """The transition reads the status again when someone moved the ticket first; it reads the
    pause with it, so a ticket never leaves `awaiting_customer` with its clock still stopped."""
    reference = raise_ticket(client, people[REQUESTER])
    stale = ticket_row(app, reference)
    # Meanwhile staff asked a question: the ticket waits, its clock stopped.
    post(client, people[STAFF], reference, "/comments", {"body": "Which?", "query": True})
    paused = ticket_row(app, reference)
    assert stale.status == TicketStatus.OPEN and stale.sla_paused_at is None
    with app.app_context():
        stale = db.session.merge(stale, load=False)
        transition(session=db.session(), ticket=stale, action="cancel", actor_id=None)
        db.session.commit()
    cancelled = ticket_row(app, reference)
    assert cancelled.status == TicketStatus.CANCELLED
    assert cancelled.sla_paused_at is None
    calendar = app.config["BUSINESS_CALENDAR"]
    waited = business_hours.between(calendar, paused.sla_paused_at, cancelled.updated_at)
    assert cancelled.resolution_due == business_hours.add(calendar, paused.resolution_due, waited)
