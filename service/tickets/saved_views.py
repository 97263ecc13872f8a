"""Staff's saved views of the queue: a name, and the queue's filters and order.

A view's `query` is kept in the form `GET /api/tickets` takes (statuses comma-separated, an
assignee as `me`, `none`, `me_or_none` or an email), so the API and the page open it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import access as permissions
from service.accounts.service import Actor
from service.errors import Conflict, NotFound
from service.models_base import utcnow
from service.tickets.models import SavedView

VIEW_EXISTS = "You already have a view with this name; choose another or delete that one."
VIEW_NOT_FOUND = "No saved view of yours has this id."
# What a view keeps of the queue's query: its filters and order, never a page.
VIEW_KEYS = ("status", "organization", "assignee", "q", "sla", "sort")


def list_views(*, session: Session, actor: Actor) -> list[SavedView]:
    """The actor's saved views, by name (staff only)."""
    permissions.require_staff(actor, what="save views of the queue")
    return list(
        session.scalars(
            select(SavedView).where(SavedView.user_id == actor.user.id).order_by(SavedView.name)
        )
    )


def save_view(*, session: Session, actor: Actor, name: str, query: Mapping[str, Any]) -> SavedView:
    """Store a named view for the actor; a name they already use is 409 `view_exists`."""
    permissions.require_staff(actor, what="save views of the queue")
    name = name.strip()
    taken = select(SavedView.id).where(SavedView.user_id == actor.user.id, SavedView.name == name)
    if session.scalar(taken) is not None:
        raise Conflict(VIEW_EXISTS, code="view_exists")
    view = SavedView(
        user_id=actor.user.id,
        name=name,
        query={key: query[key] for key in VIEW_KEYS if query.get(key)},
        created_at=utcnow(),
    )
    session.add(view)
    try:
        session.flush()
    except IntegrityError as exc:
        # The same name saved at the same moment by another request of the same person.
        raise Conflict(VIEW_EXISTS, code="view_exists") from exc
    return view


def get_view(*, session: Session, actor: Actor, view_id: int) -> SavedView:
    """One of the actor's views; another person's is 404 as one that does not exist."""
    permissions.require_staff(actor, what="save views of the queue")
    view = session.get(SavedView, view_id)
    if view is None or view.user_id != actor.user.id:
        raise NotFound(VIEW_NOT_FOUND, code="view_not_found")
    return view


def delete_view(*, session: Session, actor: Actor, view_id: int) -> None:
    """Delete one of the actor's views."""
    session.delete(get_view(session=session, actor=actor, view_id=view_id))
    session.flush()
