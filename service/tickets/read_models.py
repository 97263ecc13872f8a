"""Read models of tickets: the queue (one page in a fixed number of statements) and the detail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from service import access as permissions
from service.access import TicketAccess
from service.accounts.models import User, UserStatus
from service.accounts.service import Actor
from service.models_base import isoformat, parse_id
from service.organizations.models import Organization
from service.requests.describe import FORMER_CONTACT, describe
from service.requests.models import ChangeRequest
from service.tickets.models import (
    Ticket,
    TicketApproval,
    TicketComment,
    TicketEvent,
    TicketStatus,
    TicketStatusCount,
    format_reference,
    parse_reference,
)

SORTS = {
    "created_at": Ticket.created_at.asc(),
    "-created_at": Ticket.created_at.desc(),
    "updated_at": Ticket.updated_at.asc(),
    "-updated_at": Ticket.updated_at.desc(),
}
HIDDEN_FROM_CUSTOMERS = {"internal_note", "approval_recorded"}
# Built once: the queue's statements then hit SQLAlchemy's compiled cache on every request.
_REQUESTER = aliased(User, name="requester")
_ASSIGNEE = aliased(User, name="assignee")
_ACTING = aliased(Organization, name="acting")
# Approvals in, per ticket of the page: a subquery of the page's one statement.
_APPROVALS_GIVEN = (
    select(func.count(TicketApproval.id))
    .where(TicketApproval.ticket_id == Ticket.id)
    .correlate(Ticket)
    .scalar_subquery()
)
# `assignee=me_or_none`: the staff member's own tickets and those nobody has taken.
MINE_OR_NOBODY = "me_or_none"


@dataclass(frozen=True)
class QueueFilters:
    statuses: tuple[TicketStatus, ...] = ()
    organization: str | None = None
    assignee: str | None = None
    q: str | None = None
    sort: str = "created_at"
    page: int = 1
    per_page: int = 25


def base_url() -> str:
    return str(current_app.config["BASE_URL"])


def ticket_url(reference: str) -> str:
    return f"{base_url()}/tickets/{reference}"


def list_tickets(*, session: Session, actor: Actor, filters: QueueFilters) -> dict[str, Any]:
    """One page of the queue with its total and counts per status: two statements."""
    requester, assignee, acting = _REQUESTER, _ASSIGNEE, _ACTING
    org_ids = permissions.ticket_org_ids(session=session, actor=actor)
    conditions: list[ColumnElement[bool]] = []
    if org_ids is not None:
        conditions.append(Ticket.organization_id.in_(org_ids))
    if filters.organization:
        conditions.append(Organization.slug == filters.organization)
    if filters.assignee == "me":
        conditions.append(Ticket.assignee_id == actor.user.id)
    elif filters.assignee == "none":
        conditions.append(Ticket.assignee_id.is_(None))
    elif filters.assignee == MINE_OR_NOBODY:
        conditions.append(or_(Ticket.assignee_id == actor.user.id, Ticket.assignee_id.is_(None)))
    elif filters.assignee:
        conditions.append(func.lower(assignee.email) == filters.assignee.strip().lower())
    if filters.q:
        conditions.append(_search(filters.q))

    counts = {status.value: 0 for status in TicketStatus}
    for status, count in session.execute(_counts_query(filters, org_ids, conditions, assignee)):
        counts[TicketStatus(status).value] = int(count or 0)
    wanted = filters.statuses or tuple(TicketStatus)
    total = sum(counts[s.value] for s in wanted)

    page_query = (
        select(
            Ticket.id,
            Ticket.kind,
            Ticket.status,
            Ticket.created_at,
            Ticket.updated_at,
            Organization.slug,
            Organization.name,
            acting.slug,
            requester.email,
            requester.status,
            assignee.email,
            Ticket.approvals_required,
            _APPROVALS_GIVEN,
            ChangeRequest.item_count,
            ChangeRequest.adds,
            ChangeRequest.deletions,
            ChangeRequest.required_role_removals,
            ChangeRequest.delegations,
        )
        .select_from(Ticket)
        .join(Organization, Organization.id == Ticket.organization_id)
        .outerjoin(ChangeRequest, ChangeRequest.id == Ticket.change_request_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .join(requester, requester.id == Ticket.requester_id)
        .outerjoin(acting, acting.id == Ticket.acting_organization_id)
        .where(*conditions)
        .order_by(SORTS[filters.sort], Ticket.id)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    if filters.statuses:
        page_query = page_query.where(Ticket.status.in_(filters.statuses))
    items = []
    for row in session.execute(page_query):
        reference = format_reference(row[1], row[0])
        items.append(
            {
                "reference": reference,
                "status": TicketStatus(row[2]).value,
                "created_at": isoformat(row[3]),
                "updated_at": isoformat(row[4]),
                "organization": row[5],
                "organization_name": row[6],
                "acting_organization": row[7],
                "requester": _display(row[8], row[9]),
                "assignee": row[10],
                "url": ticket_url(reference),
                "approvals_required": row[11],
                "approvals_given": int(row[12] or 0),
                "batch": {
                    "changes": row[13] or 0,
                    "adds": row[14] or 0,
                    "deletions": row[15] or 0,
                    "required_role_removals": row[16] or 0,
                    "delegations": row[17] or 0,
                },
            }
        )
    return {
        "items": items,
        "page": filters.page,
        "per_page": filters.per_page,
        "total": total,
        "counts": counts,
    }


def _counts_query(
    filters: QueueFilters,
    org_ids: set[int] | None,
    conditions: list[ColumnElement[bool]],
    assignee: Any,
) -> Any:
    """Counts per status for the filters other than status.

    Filtered by organization at most, they come from the maintained counters (a few rows per
    organization); an assignee or a search needs a count over the matching tickets.
    """
    if not (filters.assignee or filters.q):
        query = select(TicketStatusCount.status, func.sum(TicketStatusCount.n)).group_by(
            TicketStatusCount.status
        )
        if org_ids is not None:
            query = query.where(TicketStatusCount.organization_id.in_(org_ids))
        if filters.organization:
            query = query.join(
                Organization, Organization.id == TicketStatusCount.organization_id
            ).where(Organization.slug == filters.organization)
        return query
    counted = select(Ticket.status, func.count()).select_from(Ticket)
    if filters.organization or filters.q:
        counted = counted.join(Organization, Organization.id == Ticket.organization_id)
    if filters.assignee not in (None, "me", "none", MINE_OR_NOBODY):
        counted = counted.outerjoin(assignee, assignee.id == Ticket.assignee_id)
    return counted.where(*conditions).group_by(Ticket.status)


def _search(text: str) -> ColumnElement[bool]:
    text = text.strip()
    ticket_id = parse_reference(text) or parse_id(text)
    if ticket_id is not None:
        return Ticket.id == ticket_id
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Organization.name.ilike(f"%{escaped}%", escape="\\")


def _display(email: str | None, status: UserStatus | None) -> str:
    """How a person is named in a ticket: their email, or "former contact" once purged."""
    if email is None or status == UserStatus.ARCHIVED:
        return FORMER_CONTACT
    return email


def detail(*, session: Session, access: TicketAccess) -> dict[str, Any]:
    """Everything about one ticket that this actor may see."""
    ticket = access.ticket
    staff = access.is_staff
    request = session.get(ChangeRequest, ticket.change_request_id)
    orgs = _names(session, [ticket.organization_id, ticket.acting_organization_id])
    comments = session.scalars(
        select(TicketComment)
        .where(TicketComment.ticket_id == ticket.id)
        .where(*([] if staff else [TicketComment.internal.is_(False)]))
        .order_by(TicketComment.id)
    ).all()
    events = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .where(*([] if staff else [TicketEvent.action.not_in(HIDDEN_FROM_CUSTOMERS)]))
        .order_by(TicketEvent.id)
    ).all()
    approvals = session.scalars(
        select(TicketApproval)
        .where(TicketApproval.ticket_id == ticket.id)
        .order_by(TicketApproval.id)
    ).all()
    people = _people(
        session,
        [ticket.requester_id, ticket.assignee_id]
        + [c.author_id for c in comments]
        + [e.actor_id for e in events]
        + [a.staff_id for a in approvals],
    )
    failure = None
    if ticket.failure_code:
        failure = {"code": ticket.failure_code, "message": ticket.failure_message}
    return {
        "reference": ticket.reference,
        "url": ticket_url(ticket.reference),
        "status": ticket.status.value,
        "organization": orgs.get(ticket.organization_id, {}).get("slug"),
        "organization_name": orgs.get(ticket.organization_id, {}).get("name"),
        "acting_organization": orgs.get(ticket.acting_organization_id or 0, {}).get("slug"),
        "requester": people.get(ticket.requester_id, FORMER_CONTACT),
        "assignee": people.get(ticket.assignee_id) if ticket.assignee_id else None,
        "created_at": isoformat(ticket.created_at),
        "updated_at": isoformat(ticket.updated_at),
        "request_comment": request.comment if request else None,
        "base_version": request.base_version if request else None,
        "changes": describe(session=session, change_request_id=ticket.change_request_id),
        "warnings": [
            {k: w[k] for k in ("path", "code", "message")} for w in (request.warnings or [])
        ]
        if request
        else [],
        "comments": [
            {
                "id": c.id,
                "author": people.get(c.author_id or 0, FORMER_CONTACT),
                "author_organization": _org_slug(session, c.author_organization_id, orgs),
                "body": c.body,
                "internal": c.internal,
                "query": c.query,
                "created_at": isoformat(c.created_at),
            }
            for c in comments
        ],
        "events": [
            {
                "at": isoformat(e.at),
                "actor": "system" if e.actor_id is None else people.get(e.actor_id, FORMER_CONTACT),
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "revision": (e.detail or {}).get("revision") if e.action == "amended" else None,
            }
            for e in events
        ],
        "revision": ticket.revision,
        "revision_changes": _revision_changes(session, request) if staff else None,
        "approvals_required": ticket.approvals_required,
        "approvals": [
            {"by": people.get(a.staff_id, FORMER_CONTACT), "at": isoformat(a.at)} for a in approvals
        ],
        "resolution_reason": ticket.resolution_reason,
        "failure": failure,
        "erasure_receipt": ticket.erasure_receipt if staff else None,
    }


def _revision_changes(session: Session, request: ChangeRequest | None) -> dict[str, Any] | None:
    """What the newest revision changed against the one before it: the lines it adds and the
    lines it drops (staff see it; None before any amendment)."""
    if request is None or request.replaces_id is None:
        return None
    now = Counter(line.summary for line in describe(session=session, change_request_id=request.id))
    before = Counter(
        line.summary for line in describe(session=session, change_request_id=request.replaces_id)
    )
    return {
        "from_revision": request.revision - 1,
        "to_revision": request.revision,
        "added": sorted((now - before).elements()),
        "removed": sorted((before - now).elements()),
    }


def _org_slug(session: Session, org_id: int | None, known: dict[int, dict[str, str]]) -> str | None:
    if org_id is None:
        return None
    if org_id not in known:
        known.update(_names(session, [org_id]))
    return known.get(org_id, {}).get("slug")


def _names(session: Session, org_ids: Iterable[int | None]) -> dict[int, dict[str, str]]:
    ids = {i for i in org_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.slug, Organization.name).where(
            Organization.id.in_(ids)
        )
    )
    return {oid: {"slug": slug, "name": name} for oid, slug, name in rows}


def _people(session: Session, user_ids: Iterable[int | None]) -> Mapping[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email, User.status).where(User.id.in_(ids)))
    return {uid: _display(email, status) for uid, email, status in rows}
