"""Read models of tickets: the queue (one page in a fixed number of statements) and the detail.

They are typed objects (`QueuePage`, `TicketDetail`), with times as `datetime`: the output
schemas (`tickets/schemas.py`) dump them for the API, and the pages read the same objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, not_, null, or_, select
from sqlalchemy.orm import Session, aliased

from service import access as permissions
from service.access import TicketAccess
from service.accounts.models import User, UserStatus
from service.accounts.service import Actor
from service.errors import ErrorDetail
from service.models_base import parse_id, utcnow
from service.organizations.models import Organization
from service.requests.describe import FORMER_CONTACT, ChangeLine, describe
from service.requests.models import ChangeRequest
from service.tickets import sla
from service.tickets.links import ticket_url
from service.tickets.models import (
    FINAL_STATUSES,
    UNFINISHED_STATUSES,
    Ticket,
    TicketApproval,
    TicketComment,
    TicketEvent,
    TicketStatus,
    TicketStatusCount,
    format_reference,
    parse_reference,
)
from service.tickets.sla import ServiceLevel

# The next target an unfinished ticket must meet: its first response while none has come
# (unless the resolution falls due first), then its resolution. Finished tickets have none.
NEXT_DUE = case(
    (Ticket.status.in_(FINAL_STATUSES), null()),
    (
        and_(
            Ticket.first_responded_at.is_(None),
            Ticket.first_response_due < Ticket.resolution_due,
        ),
        Ticket.first_response_due,
    ),
    else_=Ticket.resolution_due,
)
SORTS = {
    "created_at": Ticket.created_at.asc(),
    "-created_at": Ticket.created_at.desc(),
    "updated_at": Ticket.updated_at.asc(),
    "-updated_at": Ticket.updated_at.desc(),
    # Soonest due first; tickets without a due time (finished ones) last either way.
    "due": NEXT_DUE.asc().nulls_last(),
    "-due": NEXT_DUE.desc().nulls_last(),
}
# `sla=`: the unfinished tickets past a pending target, or with one due within
# SLA_DUE_SOON_HOURS business hours.
SLA_FILTERS = ("due_soon", "overdue")
HIDDEN_FROM_CUSTOMERS = {"internal_note", "approval_recorded"}
# Built once: the queue's statements then hit SQLAlchemy's compiled cache on every request.
_ASSIGNEE = aliased(User, name="assignee")  # joined when the queue is filtered by its email


def _lookup(column: Any, key: Any) -> Any:
    """`column` of the row whose id is the ticket's `key`: a subquery of the queue page's one
    statement rather than a join. PostgreSQL plans such a subquery on its own, where each join
    widens the plan search of the page: with its five lookups joined, planning the page took
    2 ms, some 25 times its run (bench/queue.py)."""
    table = aliased(column.class_)
    return (
        select(getattr(table, column.key))
        .where(table.id == key)
        .correlate(Ticket)
        .scalar_subquery()
    )


_PAGE_LOOKUPS = (
    _lookup(Organization.slug, Ticket.organization_id).label("organization"),
    _lookup(Organization.name, Ticket.organization_id).label("organization_name"),
    _lookup(Organization.slug, Ticket.acting_organization_id).label("acting_organization"),
    _lookup(User.email, Ticket.requester_id).label("requester_email"),
    _lookup(User.status, Ticket.requester_id).label("requester_status"),
    _lookup(User.email, Ticket.assignee_id).label("assignee"),
)
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
    sla: str | None = None
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class BatchSummary:
    """What a queue row says of its batch: how many changes, and of which risky kinds."""

    changes: int
    adds: int
    deletions: int
    required_role_removals: int
    delegations: int


@dataclass(frozen=True)
class QueueItem:
    reference: str
    status: TicketStatus
    organization: str
    organization_name: str
    acting_organization: str | None
    requester: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    url: str
    approvals_required: int
    approvals_given: int
    batch: BatchSummary
    sla: ServiceLevel | None


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    page: int
    per_page: int
    total: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    author_organization: str | None
    body: str
    internal: bool
    query: bool
    created_at: datetime


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    revision: int | None


@dataclass(frozen=True)
class Approval:
    by: str
    at: datetime


@dataclass(frozen=True)
class Failure:
    code: str
    message: str | None


@dataclass(frozen=True)
class TicketDetail:
    reference: str
    url: str
    status: TicketStatus
    organization: str | None
    organization_name: str | None
    acting_organization: str | None
    requester: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    request_comment: str | None
    base_version: int | None
    changes: list[ChangeLine]
    warnings: list[ErrorDetail]
    comments: list[Comment]
    events: list[Event]
    revision: int
    revision_changes: dict[str, Any] | None
    approvals_required: int
    approvals: list[Approval]
    resolution_reason: str | None
    failure: Failure | None
    erasure_receipt: list[dict[str, Any]] | None
    sla: ServiceLevel | None


def list_tickets(*, session: Session, actor: Actor, filters: QueueFilters) -> QueuePage:
    """One page of the queue with its total and counts per status: two statements."""
    assignee = _ASSIGNEE
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
    now = utcnow()
    if filters.sla:
        conditions.append(_sla_condition(filters.sla, now))

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
            *_PAGE_LOOKUPS,
            Ticket.approvals_required,
            _APPROVALS_GIVEN.label("approvals_given"),
            Ticket.first_response_due,
            Ticket.resolution_due,
            Ticket.first_responded_at,
            Ticket.sla_paused_at,
            ChangeRequest.item_count,
            ChangeRequest.adds,
            ChangeRequest.deletions,
            ChangeRequest.required_role_removals,
            ChangeRequest.delegations,
        )
        .select_from(Ticket)
        .outerjoin(ChangeRequest, ChangeRequest.id == Ticket.change_request_id)
        .where(*conditions)
        .order_by(SORTS[filters.sort], Ticket.id)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    # The filters' joins: the organization's slug or name, the assignee's email.
    if filters.organization or filters.q:
        page_query = page_query.join(Organization, Organization.id == Ticket.organization_id)
    if filters.assignee not in (None, "me", "none", MINE_OR_NOBODY):
        page_query = page_query.outerjoin(assignee, assignee.id == Ticket.assignee_id)
    if filters.statuses:
        page_query = page_query.where(Ticket.status.in_(filters.statuses))
    items = []
    for row in session.execute(page_query):
        reference = format_reference(row.kind, row.id)
        items.append(
            QueueItem(
                reference=reference,
                status=TicketStatus(row.status),
                organization=row.organization,
                organization_name=row.organization_name,
                acting_organization=row.acting_organization,
                requester=_display(row.requester_email, row.requester_status),
                assignee=row.assignee,
                created_at=row.created_at,
                updated_at=row.updated_at,
                url=ticket_url(reference),
                approvals_required=row.approvals_required,
                approvals_given=int(row.approvals_given or 0),
                batch=BatchSummary(
                    changes=row.item_count or 0,
                    adds=row.adds or 0,
                    deletions=row.deletions or 0,
                    required_role_removals=row.required_role_removals or 0,
                    delegations=row.delegations or 0,
                ),
                sla=sla.status_of(
                    status=TicketStatus(row.status),
                    at=now,
                    first_response_due=row.first_response_due,
                    resolution_due=row.resolution_due,
                    first_responded_at=row.first_responded_at,
                    paused_at=row.sla_paused_at,
                ),
            )
        )
    return QueuePage(
        items=items, page=filters.page, per_page=filters.per_page, total=total, counts=counts
    )


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
    if not (filters.assignee or filters.q or filters.sla):
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


def _sla_condition(wanted: str, now: datetime) -> ColumnElement[bool]:
    """`overdue`: unfinished, and a target still pending is past due (as of the pause for a
    paused ticket, as `sla.breached` judges). `due_soon`: unfinished, running, not overdue,
    and the next target falls due before `SLA_DUE_SOON_HOURS` business hours from now."""
    moment = func.coalesce(Ticket.sla_paused_at, now)
    first_pending = and_(
        Ticket.first_responded_at.is_(None), Ticket.first_response_due.is_not(None)
    )
    overdue = and_(
        Ticket.status.in_(UNFINISHED_STATUSES),
        or_(
            and_(first_pending, Ticket.first_response_due < moment),
            Ticket.resolution_due < moment,
        ),
    )
    if wanted == "overdue":
        return overdue
    until = sla.due_soon_until(now)
    return and_(
        Ticket.status.in_(UNFINISHED_STATUSES),
        Ticket.sla_paused_at.is_(None),
        not_(overdue),
        or_(
            and_(first_pending, Ticket.first_response_due < until),
            Ticket.resolution_due < until,
        ),
    )


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


Row = TypeVar("Row", TicketComment, TicketEvent, TicketApproval)


def _of_ticket(
    session: Session, model: type[Row], ticket_id: int, *where: ColumnElement[bool]
) -> Sequence[Row]:
    """The ticket's comments, events or approvals that match `where`, oldest first."""
    return session.scalars(
        select(model).where(model.ticket_id == ticket_id).where(*where).order_by(model.id)
    ).all()


def detail(*, session: Session, access: TicketAccess) -> TicketDetail:
    """Everything about one ticket that this actor may see."""
    ticket = access.ticket
    staff = access.is_staff
    request = session.get(ChangeRequest, ticket.change_request_id)
    orgs = _names(session, [ticket.organization_id, ticket.acting_organization_id])
    comments = _of_ticket(
        session, TicketComment, ticket.id, *([] if staff else [TicketComment.internal.is_(False)])
    )
    events = _of_ticket(
        session,
        TicketEvent,
        ticket.id,
        *([] if staff else [TicketEvent.action.not_in(HIDDEN_FROM_CUSTOMERS)]),
    )
    approvals = _of_ticket(session, TicketApproval, ticket.id)
    people = _people(
        session,
        [ticket.requester_id, ticket.assignee_id]
        + [c.author_id for c in comments]
        + [e.actor_id for e in events]
        + [a.staff_id for a in approvals],
    )
    failure = None
    if ticket.failure_code:
        failure = Failure(code=ticket.failure_code, message=ticket.failure_message)
    org = orgs.get(ticket.organization_id, {})
    return TicketDetail(
        reference=ticket.reference,
        url=ticket_url(ticket.reference),
        status=ticket.status,
        organization=org.get("slug"),
        organization_name=org.get("name"),
        acting_organization=orgs.get(ticket.acting_organization_id or 0, {}).get("slug"),
        requester=people.get(ticket.requester_id, FORMER_CONTACT),
        assignee=people.get(ticket.assignee_id) if ticket.assignee_id else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        request_comment=request.comment if request else None,
        base_version=request.base_version if request else None,
        changes=describe(session=session, change_request_id=ticket.change_request_id),
        warnings=[
            ErrorDetail(path=w["path"], code=w["code"], message=w["message"])
            for w in ((request.warnings or []) if request else [])
        ],
        comments=[
            Comment(
                id=c.id,
                author=people.get(c.author_id or 0, FORMER_CONTACT),
                author_organization=_org_slug(session, c.author_organization_id, orgs),
                body=c.body,
                internal=c.internal,
                query=c.query,
                created_at=c.created_at,
            )
            for c in comments
        ],
        events=[
            Event(
                at=e.at,
                actor="system" if e.actor_id is None else people.get(e.actor_id, FORMER_CONTACT),
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                revision=(e.detail or {}).get("revision") if e.action == "amended" else None,
            )
            for e in events
        ],
        revision=ticket.revision,
        revision_changes=_revision_changes(session, request) if staff else None,
        approvals_required=ticket.approvals_required,
        approvals=[Approval(by=people.get(a.staff_id, FORMER_CONTACT), at=a.at) for a in approvals],
        resolution_reason=ticket.resolution_reason,
        failure=failure,
        erasure_receipt=ticket.erasure_receipt if staff else None,
        sla=sla.status_of(
            status=ticket.status,
            at=utcnow(),
            first_response_due=ticket.first_response_due,
            resolution_due=ticket.resolution_due,
            first_responded_at=ticket.first_responded_at,
            paused_at=ticket.sla_paused_at,
        ),
    )


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
    query = select(Organization.id, Organization.slug, Organization.name)
    rows = _rows(session, query, Organization.id, org_ids)
    return {oid: {"slug": slug, "name": name} for oid, slug, name in rows}


def _people(session: Session, user_ids: Iterable[int | None]) -> Mapping[int, str]:
    rows = _rows(session, select(User.id, User.email, User.status), User.id, user_ids)
    return {uid: _display(email, status) for uid, email, status in rows}


def _rows(session: Session, query: Any, id_column: Any, ids: Iterable[int | None]) -> Any:
    """The query's rows for the ids given (None among them ignored); none without a statement."""
    wanted = {i for i in ids if i is not None}
    return session.execute(query.where(id_column.in_(wanted))) if wanted else ()
