"""`/api/tickets`: the queue, one ticket, comments and the review actions. Thin: see service.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.access import TicketAccess, ticket_access
from service.accounts.caller import current_actor, load_actor
from service.extensions import Blueprint, db
from service.read_only import reads_only
from service.tickets import read_models, saved_views
from service.tickets import service as tickets_service
from service.tickets.links import saved_view_url
from service.tickets.schemas import (
    ApproveIn,
    AssignIn,
    CancelIn,
    CommentIn,
    CommentOut,
    EmptyIn,
    QueueOut,
    QueueQuery,
    RejectIn,
    SavedViewIn,
    SavedViewOut,
    SavedViewsOut,
    TicketOut,
)

blp = Blueprint("tickets", __name__, description="Tickets: the review queue and its actions")
blp.before_request(load_actor)


def _access(reference: str) -> TicketAccess:
    return ticket_access(session=db.session(), actor=current_actor(), reference=reference)


def _detail(ticket: TicketAccess) -> read_models.TicketDetail:
    return read_models.detail(session=db.session(), access=ticket)


def _act(reference: str, action: Callable[..., Any], **arguments: Any) -> read_models.TicketDetail:
    """Run a review action of `tickets.service` on the ticket, commit, answer its detail."""
    ticket = _access(reference)
    action(session=db.session(), access=ticket, **arguments)
    db.session.commit()
    return _detail(ticket)


@blp.get("/tickets")
@reads_only
@blp.arguments(QueueQuery, location="query", as_kwargs=False)
@blp.response(200, QueueOut)
def queue(filters):
    """The queue: staff see every ticket, customer admins their organizations' only."""
    return read_models.list_tickets(session=db.session(), actor=current_actor(), filters=filters)


def _view_out(view) -> dict:
    return {
        "id": view.id,
        "name": view.name,
        "query": view.query,
        "url": saved_view_url(view.id),
    }


@blp.get("/tickets/views")
@reads_only
@blp.response(200, SavedViewsOut)
def list_views():
    """The caller's saved views of the queue, by name (staff)."""
    views = saved_views.list_views(session=db.session(), actor=current_actor())
    return {"items": [_view_out(view) for view in views]}


@blp.post("/tickets/views")
@blp.arguments(SavedViewIn)
@blp.response(201, SavedViewOut)
def save_view(payload):
    """Save a named view of the queue: its filters and order (staff; 409 `view_exists`)."""
    view = saved_views.save_view(session=db.session(), actor=current_actor(), **payload)
    db.session.commit()
    return _view_out(view)


@blp.delete("/tickets/views/<int:view_id>")
@blp.response(204)
def delete_view(view_id):
    """Delete one of the caller's saved views (staff; another person's is 404)."""
    saved_views.delete_view(session=db.session(), actor=current_actor(), view_id=view_id)
    db.session.commit()


@blp.get("/tickets/<reference>")
@reads_only
@blp.response(200, TicketOut)
def get_ticket(reference):
    """One ticket: the batch as readable lines, warnings, comments and the event timeline."""
    return _detail(_access(reference))


@blp.post("/tickets/<reference>/comments")
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
def add_comment(payload, reference):
    """Comment; staff may ask a `query` (→ awaiting_customer) or write an `internal` note."""
    ticket = _access(reference)
    note = tickets_service.comment(session=db.session(), access=ticket, **payload)
    db.session.commit()
    return next(c for c in _detail(ticket).comments if c.id == note.id)


@blp.post("/tickets/<reference>/assign")
@blp.arguments(AssignIn)
@blp.response(200, TicketOut)
def assign(payload, reference):
    """Give the ticket to a staff member, or to nobody with `null` (staff)."""
    return _act(reference, tickets_service.assign, assignee_email=payload["assignee"])


@blp.post("/tickets/<reference>/approve")
@blp.arguments(ApproveIn, required=False)
@blp.response(202, TicketOut)
@blp.alt_response(
    200,
    schema=TicketOut,
    description="Approval recorded; the ticket stays `open` until another staff member approves",
)
@blp.alt_response(
    409,
    description="`invalid_transition`, `already_approved`, or `revision_changed`: the ticket was "
    "amended since the revision the body names",
)
def approve(payload, reference):
    """Approve (staff). 202 when the apply job is queued; 200 while a second approval is due.
    The body may name the `revision` reviewed, so that an amended batch is never approved
    unseen."""
    ticket = _access(reference)
    applies = tickets_service.approve(
        session=db.session(), access=ticket, revision=(payload or {}).get("revision")
    )
    db.session.commit()
    return _detail(ticket), 202 if applies else 200


@blp.post("/tickets/<reference>/reject")
@blp.arguments(RejectIn)
@blp.response(200, TicketOut)
def reject(payload, reference):
    """Reject with a reason the requester will read (staff)."""
    return _act(reference, tickets_service.reject, reason=payload["reason"])


@blp.post("/tickets/<reference>/cancel")
@blp.arguments(CancelIn, required=False)
@blp.response(200, TicketOut)
def cancel(payload, reference):
    """Withdraw the request (the requester or an admin of the organization)."""
    return _act(reference, tickets_service.cancel, reason=(payload or {}).get("reason"))


@blp.post("/tickets/<reference>/retry")
@blp.arguments(EmptyIn, required=False)
@blp.response(202, TicketOut)
def retry(payload, reference):
    """Apply a failed ticket again (staff)."""
    return _act(reference, tickets_service.retry)
