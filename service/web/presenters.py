"""What the pages show, shaped for the templates: role columns, start pages, labels, timelines.

Pure helpers over the services' read models; no rules and no writes live here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import access
from service.accounts.models import User, UserStatus
from service.accounts.service import Actor
from service.contacts import service as contacts_service
from service.contacts.models import Role
from service.models_base import isoformat, utcnow
from service.organizations.models import Organization
from service.requests.describe import ChangeLine
from service.requests.schemas import ContactFields
from service.tickets import sla
from service.tickets.models import TicketStatus
from service.tickets.read_models import BatchSummary, TicketDetail
from service.tickets.sla import ServiceLevel
from service.vocabulary import (
    ALL_PERMISSIONS,
    CONTACT_FIELDS,
    MANDATORY_FIELDS,
    SALUTATIONS,
)

STATUS_LABELS = {
    TicketStatus.OPEN.value: "Open",
    TicketStatus.AWAITING_CUSTOMER.value: "Awaiting customer",
    TicketStatus.APPROVED.value: "Approved",
    TicketStatus.APPLYING.value: "Applying",
    TicketStatus.IMPLEMENTED.value: "Implemented",
    TicketStatus.FAILED.value: "Failed",
    TicketStatus.CANCELLED.value: "Cancelled",
    TicketStatus.REJECTED.value: "Rejected",
}
UNFINISHED = ("open", "awaiting_customer", "approved", "applying", "failed")
# The staff queue without filters: what is still to do and is theirs or nobody's, oldest first.
DEFAULT_STAFF_VIEW = {"status": "unfinished", "assignee": "me_or_none", "sort": "created_at"}
# Assignee filters that name no one in particular.
ASSIGNEE_WORDS = ("me", "none", "me_or_none")

# How each event of the log reads in the timeline, after the actor's name.
EVENT_LABELS = {
    "opened": "submitted the request",
    "queried": "asked a question",
    "replied": "answered",
    "assigned": "changed the assignee",
    "approval_recorded": "approved (another approval is needed)",
    "approved": "approved the request",
    "apply_started": "started applying the changes",
    "implemented": "applied every change",
    "apply_failed": "could not apply the changes",
    "retried": "retried applying the changes",
    "rejected": "rejected the request",
    "cancelled": "cancelled the request",
    "amended": "amended the request",
}
# Events that only record a comment: the comment itself is in the timeline.
COMMENT_EVENTS = frozenset({"commented", "internal_note", "query"})

FIELD_LABELS = {
    "salutation": "Salutation",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "alternate_email": "Alternate email",
    "job_title": "Job title",
    "phone": "Phone",
    "mobile": "Mobile",
}
FIELD_INPUTS = {"email": "email", "alternate_email": "email", "phone": "tel", "mobile": "tel"}


def contact_fields(required: tuple[str, ...] = MANDATORY_FIELDS) -> list[dict[str, Any]]:
    """The detail fields of a contact in form order, with their labels and input types, and
    whether a new contact must carry each (`required`: the organization's choice)."""
    return [
        {
            "name": name,
            "label": FIELD_LABELS[name],
            "type": FIELD_INPUTS.get(name, "text"),
            "mandatory": name in required,
            "maxlength": _max_length(name),
        }
        for name in CONTACT_FIELDS
    ]


def _max_length(name: str) -> int | None:
    """The longest value the API's ContactFields schema accepts for the field."""
    for rule in ContactFields._declared_fields[name].validators:
        if isinstance(rule, validate.Length):
            return rule.max
    return None


def salutations() -> tuple[str, ...]:
    return SALUTATIONS


AUDIENCE_LABELS = {
    "customer": "Contacts of customer organizations",
    "purchaser": "Contacts of partner (purchaser) organizations",
    "any": "Contacts of any organization",
}


def role_columns(*, session: Session, org: Organization) -> list[dict[str, Any]]:
    """The roles this organization's contacts can hold: required ones first, then catalog order,
    each with what explains it (`role_card`)."""
    roles = [
        role
        for role in contacts_service.list_roles(session=session)
        if role.audience in ("any", org.kind.value)
    ]
    roles.sort(key=lambda role: not role.required)
    return [role_card(role) for role in roles]


def role_card(role: Role) -> dict[str, Any]:
    """A role as the pages explain it: who it is for, what it may do (the matrix and in words),
    the emails its holders receive, whether it is required."""
    matrix = role.matrix
    abilities = [
        f"{row['name']}: " + " and ".join(k for k in ("view", "edit") if row[k])
        for row in matrix
        if row["view"] or row["edit"]
    ]
    others = sorted(set(role.permissions or ()) - ALL_PERMISSIONS)
    return {
        "code": role.code,
        "name": role.name,
        "description": role.description,
        "audience": role.audience,
        "audience_label": AUDIENCE_LABELS.get(role.audience, role.audience),
        "required": role.required,
        "grants_all": role.grants_all,
        "exceptions": sorted(role.exceptions or ()),
        "matrix": matrix,
        "abilities": abilities + others,
        "emails": [email_label(name) for name in role.emails or ()],
        "email_codes": list(role.emails or ()),
    }


def email_label(name: str) -> str:
    """An automated email's name as a reader says it: `request_implemented` → Request
    implemented."""
    return name.replace("_", " ").capitalize()


def contact_roles(contact: dict[str, Any], columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roles a contact holds, in the columns' order: required ones first."""
    held = set(contact.get("roles") or ())
    return [column for column in columns if column["code"] in held]


def full_name(contact: dict[str, Any]) -> str:
    parts = [contact.get("first_name"), contact.get("last_name")]
    return " ".join(str(p) for p in parts if p) or "Unnamed contact"


def start_endpoint(*, session: Session, actor: Actor) -> tuple[str, dict[str, Any]]:
    """Where `/` sends the actor: staff to the queue, customers to the first roster of their
    organization switcher (home first)."""
    if actor.is_staff:
        return "web.tickets", {}
    rosters = access.roster_orgs(session=session, actor=actor)
    if rosters:
        return "web.contacts", {"slug": rosters[0].slug}
    if access.can_see_tickets(actor):
        return "web.tickets", {}
    return "web.account", {}


def staff_members(*, session: Session) -> list[tuple[int, str]]:
    """Active staff accounts (id, email), for assigning tickets and filtering the queue."""
    rows = session.execute(
        select(User.id, User.email)
        .where(User.is_staff.is_(True), User.status == UserStatus.ACTIVE)
        .order_by(User.email)
    )
    return [(user_id, email) for user_id, email in rows if email]


def ticket_abilities(ticket: access.TicketAccess, detail: TicketDetail) -> dict[str, Any]:
    """Which controls the ticket page offers (`service.access`); the services check again."""
    approvers = {approval.by for approval in detail.approvals}
    return access.ticket_abilities(ticket, approved_already=ticket.actor.user.email in approvers)


def queue_query(chosen: dict[str, str], staff: list[tuple[int, str]], me: int) -> dict[str, Any]:
    """The page's filters as the API's query. Staff are named by id in the URL, not by email."""
    query: dict[str, Any] = {name: value for name, value in chosen.items() if value}
    if query.get("status") == "unfinished":
        query["status"] = ",".join(UNFINISHED)
    assignee = query.get("assignee")
    if assignee and assignee not in ASSIGNEE_WORDS:
        emails = {str(user_id): email for user_id, email in staff}
        if assignee == str(me):
            query["assignee"] = "me"
        elif assignee in emails:
            query["assignee"] = emails[assignee]
        else:
            raise ValidationError("Unknown assignee.")
    return query


def page_filters(query: dict[str, Any], staff: list[tuple[int, str]]) -> dict[str, str]:
    """A saved view's API query as the page's filters: staff by id, unfinished by its word."""
    chosen = {
        name: str(query.get(name, "")) for name in ("status", "organization", "q", "sla", "sort")
    }
    if set(chosen["status"].split(",")) == set(UNFINISHED):
        chosen["status"] = "unfinished"
    assignee = str(query.get("assignee", ""))
    if assignee and assignee not in ASSIGNEE_WORDS:
        ids = {email.lower(): str(user_id) for user_id, email in staff}
        assignee = ids.get(assignee.lower(), assignee)
    chosen["assignee"] = assignee
    return chosen


@dataclass(frozen=True)
class Target:
    """One service-level target as the pages show it."""

    name: str  # "First response" or "Resolution"
    due: datetime | None
    met_at: datetime | None  # the first response, once given
    state: str  # "breached", "due_soon", "paused", "met", "running"
    label: str  # what the badge says, "" for a target simply running


TARGET_LABELS = {
    "breached": "Overdue",
    "due_soon": "Due soon",
    "paused": "Paused",
    "met": "Met",
    "running": "",
}


def targets(level: ServiceLevel | None, due_soon_until: datetime) -> list[Target]:
    """An unfinished ticket's targets, first response then resolution; none once finished."""
    if level is None:
        return []
    found = []
    for key, name, due, met_at in (
        (sla.FIRST_RESPONSE, "First response", level.first_response_due, level.first_responded_at),
        (sla.RESOLUTION, "Resolution", level.resolution_due, None),
    ):
        if key in level.breached:
            state = "breached"
        elif met_at is not None:
            state = "met"
        elif level.paused:
            state = "paused"
        elif due is not None and due < due_soon_until:
            state = "due_soon"
        else:
            state = "running"
        found.append(Target(name, due, met_at, state, TARGET_LABELS[state]))
    return found


def next_target(level: ServiceLevel | None, due_soon_until: datetime) -> Target | None:
    """The target a queue row shows: the one `sort=due` orders by (see `read_models.NEXT_DUE`):
    the first response while it is pending and falls due first, else the resolution."""
    found = targets(level, due_soon_until)
    if not found:
        return None
    first, resolution = found
    pending = first.met_at is None and first.due is not None
    if pending and (resolution.due is None or first.due < resolution.due):  # type: ignore[operator]
        return first
    return resolution


def batch_kinds(batch: BatchSummary) -> list[str]:
    """A queue row's kinds of change: `2 adds`, `1 deletion`, …"""
    words = (
        ("adds", "add", "adds"),
        ("deletions", "deletion", "deletions"),
        ("required_role_removals", "required role removed", "required roles removed"),
        ("delegations", "delegation", "delegations"),
    )
    counts = {key: getattr(batch, key) for key, _, _ in words}
    return [
        f"{counts[key]} {one if counts[key] == 1 else many}"
        for key, one, many in words
        if counts[key]
    ]


# The ticket page's sections of a batch, in reading order: (key, heading, the ops it holds).
CHANGE_GROUPS = (
    ("adds", "New contacts", ("add_contact",)),
    ("updates", "Changed details", ("update_contact",)),
    ("grants", "Roles granted", ("grant_role",)),
    ("revokes", "Roles revoked", ("revoke_role",)),
    ("deactivations", "Deactivations", ("deactivate_contact",)),
    ("reactivations", "Reactivations", ("reactivate_contact",)),
    ("deletions", "Deletions (personal data erased)", ("delete_contact",)),
    ("delegations", "Delegated access", ("grant_delegate", "revoke_delegate")),
    ("invitations", "Invitations", ("invite_contact",)),
)
# A batch this short shows its sections open; a longer one shows their headings and counts.
OPEN_GROUPS_UP_TO = 30


def change_groups(changes: list[ChangeLine]) -> list[dict[str, Any]]:
    """A ticket's lines grouped by kind, each group with its count, in `CHANGE_GROUPS` order;
    an op no group names gets a group of its own at the end."""
    by_op: dict[str, list[ChangeLine]] = {}
    for line in changes:
        by_op.setdefault(line.op, []).append(line)
    groups = []
    for key, heading, ops in CHANGE_GROUPS:
        lines = [line for op in ops for line in by_op.pop(op, [])]
        lines.sort(key=lambda line: line.position)
        if lines:
            groups.append({"key": key, "heading": heading, "lines": lines})
    for op, lines in by_op.items():
        groups.append({"key": op, "heading": op.replace("_", " ").capitalize(), "lines": lines})
    return groups


def deleted_contacts(changes: list[ChangeLine]) -> list[str]:
    """Who a batch deletes (and so erases), as the lines name them."""
    return [line.contact for line in changes if line.op == "delete_contact"]


def timeline(detail: TicketDetail) -> list[dict[str, Any]]:
    """Comments and status events of a ticket detail in one list, oldest first."""
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for comment in detail.comments:
        entries.append((comment.created_at, 0, {"kind": "comment", **asdict(comment)}))
    for event in detail.events:
        if event.action in COMMENT_EVENTS:
            continue
        label = EVENT_LABELS.get(event.action, event.action.replace("_", " "))
        entries.append((event.at, 1, {"kind": "event", "label": label, **asdict(event)}))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry for _, _, entry in entries]


def parse_time(value: datetime | str | None) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso_time(value: datetime | str | None) -> str:
    """A moment as the API writes it (`2025-03-03T14:05:00Z`), for `<time datetime>`."""
    if isinstance(value, datetime):
        return isoformat(value) or ""
    return value or ""


def format_time(value: datetime | str | None) -> str:
    """`3 Mar 2025, 14:05 UTC`."""
    moment = parse_time(value)
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def age(value: datetime | str | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: `just now`, `12 min`, `5 h`, `3 d`."""
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def until(value: datetime | str | None, now: datetime | None = None) -> str:
    """How long until a moment, in the largest whole unit: `2 d`, `5 h`, `12 min`."""
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = max(0, int((moment - (now or utcnow())).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def duration(seconds: int) -> str:
    """`72 hours`, `1 hour`, `30 minutes`."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


INVITATION_LABELS = {
    "pending": "Pending",
    "expired": "Expired",
    "revoked": "Revoked",
    "accepted": "Accepted",
    "never_sent": "Never sent",
}


def ago(value: datetime | str | None) -> str:
    """`just now`, `12 min ago`, `3 d ago`."""
    text = age(value)
    return text if text in ("", "just now") else f"{text} ago"


def status_label(value: str | None) -> str:
    return STATUS_LABELS.get(value or "", (value or "").replace("_", " ").capitalize())
