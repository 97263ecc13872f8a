"""The state machine on its own: every action from every status, allowed or refused."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from service.extensions import db
from service.tickets.models import FINAL_STATUSES, Ticket, TicketEvent, TicketStatus
from service.tickets.workflow import TRANSITIONS, InvalidTransition, transition
from tests.tickets.support import REQUESTER, raise_ticket

CASES = [(action, status) for action in TRANSITIONS for status in TicketStatus]


@pytest.fixture
def ticket_id(factory, client):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    return int(reference.split("-")[1])


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_action_moves_the_ticket_only_from_the_statuses_it_starts_from(
    app, ticket_id, action, status
):
    step = TRANSITIONS[action]
    with app.app_context():
        db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(status=status))
        db.session.commit()
        ticket = db.session.get(Ticket, ticket_id)
        if status in step.sources:
            event = transition(session=db.session(), ticket=ticket, action=action, actor_id=None)
            db.session.commit()
            assert db.session.get(Ticket, ticket_id).status == step.target
            assert (event.from_status, event.to_status) == (status.value, step.target.value)
        else:
            with pytest.raises(InvalidTransition) as refused:
                transition(session=db.session(), ticket=ticket, action=action, actor_id=None)
            assert status.value in refused.value.message
            db.session.rollback()
            assert db.session.get(Ticket, ticket_id).status == status


def test_final_statuses_have_no_way_out():
    for step in TRANSITIONS.values():
        assert not (step.sources & FINAL_STATUSES)


def test_a_stale_ticket_object_cannot_move_a_ticket_someone_else_moved(app, ticket_id):
    with app.app_context():
        stale = db.session.get(Ticket, ticket_id)
        db.session.expunge(stale)
        db.session.rollback()
        with db.engine.begin() as other:
            other.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(status=TicketStatus.CANCELLED)
            )
        with pytest.raises(InvalidTransition, match="cancelled"):
            transition(session=db.session(), ticket=stale, action="approve", actor_id=None)
        db.session.rollback()
        events = db.session.query(TicketEvent).filter_by(ticket_id=ticket_id).count()
        assert events == 1  # only "opened": the refused transition recorded nothing
