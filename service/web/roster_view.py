"""The contacts manager's roster, a page at a time: what the page renders first and what its
script fetches as the person searches, filters and pages (`GET /web/orgs/<slug>/contacts`).

Both read one page of the matching contacts through `contacts_service.roster_page` (one
statement for the contacts, the total and holders from the maintained counts), never the
whole roster: the page costs the same at 5 contacts and at 5,000. While a change request
waits, each contact of the page carries what the request asks for (`requested`); the
filter `changed` lists only the contacts the request touches, and the ones it adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import jsonify, request
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from service import access
from service.accounts import invitations
from service.contacts import catalog as role_catalog
from service.contacts import paging
from service.contacts import service as contacts_service
from service.contacts.paging import RosterFilters, encode_cursor
from service.contacts.schemas import RosterQuery
from service.errors import Unprocessable, flatten_messages
from service.extensions import db
from service.organizations.models import Organization
from service.read_only import reads_only
from service.requests import service as requests_service
from service.tickets.models import Ticket
from service.vocabulary import ContactStatus
from service.web.blueprints import json_bp
from service.web.session import current_actor, json_call

PAGE_SIZE = 50
# The query parameters of the page and of its script's call.
FILTERS = ("q", "role", "status", "cursor")


@dataclass(frozen=True)
class RosterView:
    """One page of the roster as the contacts manager shows it."""

    contacts: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    holders: dict[str, int]
    active: int
    query: dict[str, Any] = field(default_factory=dict)
    # How many matching contacts come before the page, and the cursor of the page before it
    # (None: the first page): a page opened from an address with a cursor pages back from there.
    position: int = 0
    previous_cursor: str | None = None
    refused: bool = False  # some parameters were not understood and were left out


def read_query(args: Mapping[str, str]) -> tuple[dict[str, Any], bool]:
    """The filters of the page's address, loaded as the API loads them. Parameters that do not
    load are dropped whole (and reported), never half-applied."""
    given = {name: args[name] for name in FILTERS if args.get(name)}
    try:
        loaded: dict[str, Any] = RosterQuery().load(given)
    except ValidationError:
        return {}, True
    loaded.pop("view", None)
    if args.get("changed") == "1":
        loaded["changed"] = True
    return loaded, False


def roster_view(
    *,
    session: Session,
    org: Organization,
    query: Mapping[str, Any],
    pending: Ticket | None = None,
) -> RosterView:
    """The page of the roster `query` asks for; with `pending`, side by side with what that
    request asks (and, with `changed`, only the contacts it touches or adds)."""
    filters = RosterFilters(
        q=query.get("q") or None,
        role=query.get("role"),
        status=ContactStatus(query["status"]) if query.get("status") else None,
    )
    found = contacts_service.roster_page(
        session=session,
        org=org,
        roles=role_catalog.current(session=session),
        filters=filters,
        limit=PAGE_SIZE,
        after=query.get("cursor"),
    )
    contacts: list[dict[str, Any]] = found["contacts"]
    total: int = found["total"]
    next_cursor: str | None = found["next_cursor"]
    at = paging.Place(position=0, previous_cursor=None)
    if query.get("cursor") is not None and not (pending is not None and query.get("changed")):
        at = paging.place(
            session=session, org_id=org.id, filters=filters, after=query["cursor"], limit=PAGE_SIZE
        )
    if pending is not None:
        items = requests_service.pending_items(session=session, ticket=pending)
        projected = requests_service.pending_projection(session=session, org=org, items=items)
        if query.get("changed"):
            contacts, total, next_cursor, at = _touched_page(
                session=session, org=org, projected=projected, query=query
            )
        contacts = contacts_service.with_requested(
            contacts, projected, with_new="cursor" not in query
        )
    invited = [c["id"] for c in contacts if c.get("id") and c.get("account_status") == "invited"]
    if invited:
        states = invitations.of_contacts(session=session, contact_ids=invited)
        contacts = [
            {**c, "invitation": states[c["id"]]} if c.get("id") in states else c for c in contacts
        ]
    return RosterView(
        contacts=contacts,
        total=total,
        next_cursor=next_cursor,
        holders=found["holders"],
        active=contacts_service.active_count(session=session, org_id=org.id),
        query=dict(query),
        position=at.position,
        previous_cursor=at.previous_cursor,
    )


def _touched_page(
    *,
    session: Session,
    org: Organization,
    projected: list[dict[str, Any]],
    query: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], int, str | None, paging.Place]:
    """The contacts a pending request touches, a page at a time in the roster's order, and
    where the page starts among them."""
    touched = [p["id"] for p in projected if p["id"] is not None]
    rows = contacts_service.roster_rows(session=session, org_id=org.id, ids=touched)
    after = query.get("cursor")
    position = 0
    if after is not None:
        position = next((n + 1 for n, row in enumerate(rows) if row["id"] == after), len(rows))
    before = position - PAGE_SIZE
    at = paging.Place(
        position=position,
        previous_cursor=encode_cursor(rows[before - 1]["id"]) if before > 0 else None,
    )
    page = rows[position : position + PAGE_SIZE]
    more = len(rows) > position + PAGE_SIZE
    return page, len(touched), encode_cursor(page[-1]["id"]) if more and page else None, at


def view_json(view: RosterView) -> dict[str, Any]:
    """The page's script's answer: the API's paged body, and the active contacts."""
    return {
        "contacts": [
            {**contact, "status": str(getattr(contact["status"], "value", contact["status"]))}
            for contact in view.contacts
        ],
        "total": view.total,
        "next_cursor": view.next_cursor,
        "position": view.position,
        "previous_cursor": view.previous_cursor,
        "holders": view.holders,
        "active_contacts": view.active,
    }


@json_bp.get("/orgs/<slug>/contacts")
@reads_only
@json_call
def roster_json(slug: str):
    """One page of the roster for the contacts manager's script: the page's filters (`q`,
    `role`, `status`, `cursor`), answered as the API answers a paged roster."""
    session = db.session()
    org = access.roster_org(session=session, actor=current_actor(), slug=slug).org
    given = {name: request.args[name] for name in FILTERS if name in request.args}
    try:
        query: dict[str, Any] = RosterQuery().load(given)
    except ValidationError as exc:
        raise Unprocessable(
            "A parameter is not valid.", errors=flatten_messages(exc.messages)
        ) from exc
    query.pop("view", None)
    return jsonify(view_json(roster_view(session=session, org=org, query=query)))
