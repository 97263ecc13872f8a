"""Rendering an Email row into its subject, text and HTML from templates/emails/.

A `Renderer` renders many emails of one session: `preload` reads the rows they need (accounts,
contacts, tickets, organizations, comments) in a few statements, after which each email is
rendered from the session's identity map, and a ticket's change count and summary are read once
per ticket however many people are told about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, noload

from service.accounts import tokens
from service.accounts.models import TokenPurpose, User, UserStatus
from service.config import PROJECT_ROOT
from service.contacts.models import Contact, ContactStatus
from service.models_base import utcnow
from service.notifications.models import Email
from service.organizations.models import Organization
from service.requests.describe import describe
from service.requests.models import ChangeRequestItem
from service.sql import column_in
from service.tickets.links import ticket_url
from service.tickets.models import Ticket, TicketComment, TicketStatus

Row = TypeVar("Row")

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "emails"

TICKET_TEMPLATES = frozenset(
    {
        "ticket_raised",
        "ticket_query",
        "customer_reply",
        "ticket_amended",
        "ticket_cancelled",
        "ticket_rejected",
        "ticket_implemented",
        "apply_failed",
        "staff_comment",
        "delegation_started",
        "delegation_ended",
        "sla_reminder",
        "awaiting_reply_reminder",
        "ticket_closed_unanswered",
    }
)
# The reminder job's emails (service/tickets/reminders.py): what they say comes from the
# numbers and codes in their context.
REMINDER_TEMPLATES = frozenset(
    {"sla_reminder", "awaiting_reply_reminder", "ticket_closed_unanswered"}
)
TARGET_NAMES = {"first_response": "first response", "resolution": "resolution"}
COMMENT_TEMPLATES = frozenset({"ticket_query", "customer_reply", "staff_comment"})
DELEGATION_TEMPLATES = frozenset({"delegation_started", "delegation_ended"})
# What a comment's email says of the ticket, from its status when the email is rendered.
STATUS_SENTENCES = {
    TicketStatus.OPEN: "The ticket is open, in the review queue.",
    TicketStatus.AWAITING_CUSTOMER: "The ticket waits for the customer's answer.",
    TicketStatus.APPROVED: "The request is approved; its changes are being applied.",
    TicketStatus.APPLYING: "The request is approved; its changes are being applied.",
    TicketStatus.IMPLEMENTED: "The request is implemented: every change is applied.",
    TicketStatus.FAILED: "Applying the changes failed; the vendor's team will retry.",
    TicketStatus.CANCELLED: "The request is cancelled.",
    TicketStatus.REJECTED: "The request was rejected.",
}
# Account emails carry a fresh link: its purpose, the page it opens and the button's label.
ACCOUNT_TEMPLATES = {
    "welcome": (TokenPurpose.ACTIVATION, "activate", "Set your password"),
    "password_reset": (TokenPurpose.PASSWORD_RESET, "reset", "Choose a new password"),
    # "Forgot password" for an address that is a contact but has no usable account yet.
    "account_claim": (TokenPurpose.ACTIVATION, "activate", "Set your password"),
}
# Notices to the review queue about the service itself, rendered from their context alone.
STAFF_TEMPLATES = frozenset({"webhook_disabled"})
# Emails to a person about an organization (from the ticket that made them a contact of it):
# no link to the ticket, whose workings are the organization's admins' business.
MEMBERSHIP_TEMPLATES = frozenset({"membership_added"})
# Notices to an organization's admins about one of its contacts, without a ticket.
NOTICE_TEMPLATES = frozenset({"invitation_expired"})
TEMPLATES = (
    TICKET_TEMPLATES
    | ACCOUNT_TEMPLATES.keys()
    | STAFF_TEMPLATES
    | MEMBERSHIP_TEMPLATES
    | NOTICE_TEMPLATES
)

# The key of an account's first contact in `Renderer._members`, whatever the organization: a
# delegate told about a customer's ticket is greeted by the name its own organization knows.
ANY_ORGANIZATION = 0

# A 1,000-item batch should not become a 1,000-line email; the ticket page has them all.
MAX_SUMMARY_LINES = 50


class RenderError(Exception):
    """The email cannot be rendered as recorded; `code` is short and holds no personal data."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(*, session: Session, email: Email, link: str | None = None) -> Rendered:
    """Subject, text and HTML of one email (see `Renderer.render`)."""
    return Renderer(session).render(email, link=link)


class Renderer:
    """Renders emails from the ids in their context and the database, many per session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._change_counts: dict[int, int] = {}
        self._summaries: dict[int, list[str]] = {}
        # Each recipient's contact in each organization, read by `preload`.
        self._members: dict[tuple[int, int], Contact] | None = None
        # The session's identity map holds its objects weakly: these keep the preloaded ones.
        self._loaded: list[Any] = []

    def preload(self, emails: Sequence[Email]) -> None:
        """Read the rows these emails need in one statement per table, into the session."""
        user_ids = {e.recipient_user_id for e in emails} | {
            e.context.get("user_id") for e in emails
        }
        users = self._load(User, user_ids)
        tickets = self._load(Ticket, {e.ticket_id or e.context.get("ticket_id") for e in emails})
        self._members = {}
        user_ids_found = sorted(u.id for u in users)
        if user_ids_found:
            members = self.session.scalars(
                select(Contact)
                .where(
                    column_in(self.session, Contact.user_id, user_ids_found),
                    Contact.status != ContactStatus.ARCHIVED,
                )
                .options(noload(Contact.roles))
                .order_by(Contact.id)
            )
            for contact in members:
                self._loaded.append(contact)
                assert contact.user_id is not None
                self._members.setdefault((contact.user_id, contact.organization_id), contact)
                self._members.setdefault((contact.user_id, ANY_ORGANIZATION), contact)
        self._load(TicketComment, {e.context.get("comment_id") for e in emails})
        self._load(
            Organization,
            {u.organization_id for u in users}
            | {t.organization_id for t in tickets}
            | {t.acting_organization_id for t in tickets},
        )

    def _load(self, model: type[Row], ids: Iterable[Any], *options: Any) -> list[Row]:
        wanted = sorted({i for i in ids if isinstance(i, int)})
        if not wanted:
            return []
        column = model.id  # type: ignore[attr-defined]
        statement = select(model).where(column_in(self.session, column, wanted)).options(*options)
        rows = list(self.session.scalars(statement))
        self._loaded.extend(rows)
        return rows

    def render(self, email: Email, *, link: str | None = None) -> Rendered:
        """Subject, text and HTML of the email, loaded from the ids in its context.

        Account emails carry `link`, made by the delivery just before (`delivery.account_links`).
        """
        if email.template not in TEMPLATES:
            raise RenderError("unknown_template")
        values: dict[str, Any] = {"base_url": current_app.config["BASE_URL"], "reference": None}
        if email.template in ACCOUNT_TEMPLATES:
            if link is None:
                raise RenderError("link_missing")
            values.update(self._account_values(email, link))
        elif email.template in STAFF_TEMPLATES:
            values.update(_staff_values(email))
        elif email.template in MEMBERSHIP_TEMPLATES:
            values.update(self._membership_values(email))
        elif email.template in NOTICE_TEMPLATES:
            values.update(self._notice_values(email))
        else:
            values.update(self._ticket_values(email))
        environment = _environment()
        subject = environment.get_template(f"{email.template}.subject.txt").render(values)
        values["subject"] = " ".join(subject.split())
        return Rendered(
            subject=values["subject"],
            text=environment.get_template(f"{email.template}.txt").render(values),
            html=environment.get_template(f"{email.template}.html").render(values),
        )

    def _ticket_values(self, email: Email) -> dict[str, Any]:
        session = self.session
        ticket_id = email.ticket_id or email.context.get("ticket_id")
        ticket = session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is None:
            raise RenderError("ticket_missing")
        link = ticket_url(ticket.reference)
        values: dict[str, Any] = {
            "reference": ticket.reference,
            "ticket_url": link,
            "action_url": link,
            "action_label": f"View {ticket.reference}",
            "organization": _organization_name(session, ticket.organization_id),
            "acting_organization": (
                _organization_name(session, ticket.acting_organization_id)
                if ticket.acting_organization_id
                else None
            ),
            "greeting": _greeting(
                session, email, organization_id=ticket.organization_id, members=self._members
            ),
            "to_staff": _to_staff(session, email),
            "reason": ticket.resolution_reason,
            "failure_code": ticket.failure_code,
            "failure_message": ticket.failure_message,
        }
        if email.template in COMMENT_TEMPLATES:
            comment = _public_comment(session, email, ticket)
            values["comment"] = comment.body
            values["author"] = _author(session, comment)
            writer_org = comment.author_organization_id or _author_org(session, comment)
            values["author_organization"] = (
                _organization_name(session, writer_org) if writer_org else None
            )
            values["status_sentence"] = STATUS_SENTENCES[ticket.status]
        if email.template == "ticket_amended":
            values.update(_amended_values(session, email))
        if email.template in DELEGATION_TEMPLATES:
            partner = email.context.get("partner_organization_id")
            if not isinstance(partner, int):
                raise RenderError("partner_missing")
            values["partner"] = _organization_name(session, partner)
            base = current_app.config["BASE_URL"]
            customer = session.get(Organization, ticket.organization_id)
            if email.template == "delegation_started" and customer is not None:
                values["action_url"] = f"{base}/orgs/{customer.slug}/contacts"
                values["action_label"] = f"Open {values['organization']}'s contacts"
            else:
                values["action_url"] = f"{base}/"
                values["action_label"] = "Open Rolegate"
        if email.template in REMINDER_TEMPLATES:
            values.update(_reminder_values(email, ticket))
        if email.template == "ticket_raised":
            values["change_count"] = self._change_count(ticket.change_request_id)
        if email.template == "ticket_implemented":
            summaries = self._summary(ticket.change_request_id)
            values["summaries"] = summaries[:MAX_SUMMARY_LINES]
            values["more_summaries"] = max(0, len(summaries) - MAX_SUMMARY_LINES)
        return values

    def _change_count(self, change_request_id: int) -> int:
        if change_request_id not in self._change_counts:
            self._change_counts[change_request_id] = int(
                self.session.scalar(
                    select(func.count())
                    .select_from(ChangeRequestItem)
                    .where(ChangeRequestItem.change_request_id == change_request_id)
                )
                or 0
            )
        return self._change_counts[change_request_id]

    def _summary(self, change_request_id: int) -> list[str]:
        if change_request_id not in self._summaries:
            self._summaries[change_request_id] = [
                line.summary
                for line in describe(session=self.session, change_request_id=change_request_id)
            ]
        return self._summaries[change_request_id]

    def _membership_values(self, email: Email) -> dict[str, Any]:
        session = self.session
        user = account_owner(session, email)
        # From the batch that added the person, or from a direct invitation (no ticket).
        organization_id = email.context.get("organization_id")
        if not organization_id:
            ticket_id = email.ticket_id or email.context.get("ticket_id")
            ticket = session.get(Ticket, ticket_id) if ticket_id else None
            if ticket is None:
                raise RenderError("ticket_missing")
            organization_id = ticket.organization_id
        return {
            "action_url": f"{current_app.config['BASE_URL']}/login",
            "action_label": "Sign in",
            "organization": _organization_name(session, organization_id),
            "greeting": _greeting(
                session, email, organization_id=organization_id, user=user, members=self._members
            ),
        }

    def _notice_values(self, email: Email) -> dict[str, Any]:
        session = self.session
        organization = session.get(Organization, email.context.get("organization_id") or 0)
        if organization is None:
            raise RenderError("organization_missing")
        contact = session.get(Contact, email.context.get("contact_id") or 0)
        if contact is None or contact.organization_id != organization.id:
            raise RenderError("contact_missing")
        if contact.status == ContactStatus.ARCHIVED:
            raise RenderError("contact_erased")  # nothing to tell about a former contact
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        link = f"{current_app.config['BASE_URL']}/orgs/{organization.slug}/invitations"
        return {
            "action_url": link,
            "action_label": "Open the invitations",
            "organization": organization.name,
            "contact_name": name or "A contact",
            "greeting": _greeting(
                session, email, organization_id=organization.id, members=self._members
            ),
        }

    def _account_values(self, email: Email, link: str) -> dict[str, Any]:
        session = self.session
        user = account_owner(session, email)
        purpose, _, label = ACCOUNT_TEMPLATES[email.template]
        # The organization that invited the person (an account may be a contact of several):
        # the one named, else the ticket's, else the one the account was made in.
        organization_id = email.context.get("organization_id")
        ticket_id = email.ticket_id or email.context.get("ticket_id")
        ticket = session.get(Ticket, ticket_id) if ticket_id and not organization_id else None
        if not organization_id:
            organization_id = ticket.organization_id if ticket else user.organization_id
        return {
            "action_url": link,
            "action_label": label,
            "organization": _organization_name(session, organization_id),
            "greeting": _greeting(
                session, email, organization_id=organization_id, user=user, members=self._members
            ),
            "valid_for": _duration(tokens.lifetime(purpose)),
        }


def _reminder_values(email: Email, ticket: Ticket) -> dict[str, Any]:
    """A reminder's numbers, and for a target's reminder the due time in the business calendar's
    time zone (`2026-11-30 10:00 Europe/London`)."""
    context = email.context
    values: dict[str, Any] = {
        "days": context.get("days"),
        "close_in_days": context.get("close_in_days"),
        "status_sentence": STATUS_SENTENCES[ticket.status],
        "assigned": email.recipient_user_id is not None,
    }
    if email.template == "sla_reminder":
        target = context.get("target")
        if target not in TARGET_NAMES or not isinstance(context.get("due_at"), str):
            raise RenderError("reminder_context")
        due = datetime.fromisoformat(context["due_at"])
        calendar = current_app.config["BUSINESS_CALENDAR"]
        values["target_name"] = TARGET_NAMES[target]
        values["due_at"] = f"{due.astimezone(calendar.zone):%Y-%m-%d %H:%M} {calendar.timezone}"
        values["overdue"] = due <= utcnow()
    return values


def _amended_values(session: Session, email: Email) -> dict[str, Any]:
    """Who amended the ticket (and for a delegate, its own organization), to which revision,
    how many approvals that withdrew, and whether the ticket came back from the customer."""
    context = email.context
    revision = context.get("revision")
    if not isinstance(revision, int):
        raise RenderError("revision_missing")
    amender, amended_for = context.get("amended_by"), context.get("amended_for")
    if not isinstance(amender, int) or not isinstance(amended_for, int):
        raise RenderError("amender_missing")
    return {
        "revision": revision,
        "previous_revision": revision - 1,
        "amender": _person(session, amender, amended_for),
        "amender_organization": _organization_name(session, amended_for),
        "approvals_withdrawn": int(context.get("approvals_withdrawn") or 0),
        "requeued": bool(context.get("requeued")),
    }


def _staff_values(email: Email) -> dict[str, Any]:
    base = current_app.config["BASE_URL"]
    return {
        **email.context,
        "greeting": "Hello,",
        "action_url": f"{base}/webhooks",
        "action_label": "Open the webhooks page",
    }


@cache
def _environment() -> Environment:
    # Only .html is escaped: the text parts and subjects show what people wrote, as they wrote it.
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # The templates ship with the code: no file system check at every email of a burst.
        auto_reload=False,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def account_owner(session: Session, email: Email) -> User:
    """The account an account email is about, when the email goes to its current address."""
    user_id = email.context.get("user_id") or email.recipient_user_id
    user = session.get(User, user_id) if user_id else None
    if user is None or user.email is None or user.status == UserStatus.ARCHIVED:
        raise RenderError("account_missing")
    # A link to an account goes only to that account's current address.
    if (email.recipient or "").strip().lower() != user.email.strip().lower():
        raise RenderError("recipient_not_account_owner")
    return user


def _public_comment(session: Session, email: Email, ticket: Ticket) -> TicketComment:
    """The comment the email quotes; a staff-internal note is never sent to anyone."""
    comment_id = email.context.get("comment_id")
    comment = session.get(TicketComment, comment_id) if comment_id else None
    if comment is None or comment.ticket_id != ticket.id:
        raise RenderError("comment_missing")
    if comment.internal:
        raise RenderError("internal_comment")
    return comment


def _author(session: Session, comment: TicketComment) -> str:
    """Who wrote a comment, by name where a contact of theirs has one, else by email."""
    return _person(session, comment.author_id, comment.author_organization_id)


def _person(session: Session, user_id: int | None, organization_id: int | None) -> str:
    """Who acted, by name where a contact of theirs has one, else by email; their contact in
    the organization they acted for (`organization_id`), else any of their memberships."""
    user = session.get(User, user_id) if user_id else None
    if user is None or user.status == UserStatus.ARCHIVED or not user.email:
        return "A former contact"
    contact = session.scalars(
        select(Contact)
        .where(Contact.user_id == user.id, Contact.status != ContactStatus.ARCHIVED)
        .order_by((Contact.organization_id == (organization_id or 0)).desc(), Contact.id)
    ).first()
    if contact is not None and contact.first_name:
        return " ".join(p.strip() for p in (contact.first_name, contact.last_name or "") if p)
    return user.email


def _author_org(session: Session, comment: TicketComment) -> int | None:
    """The writer's own organization, for a comment that did not record whom it spoke for."""
    user = session.get(User, comment.author_id) if comment.author_id else None
    return user.organization_id if user is not None else None


def _organization_name(session: Session, organization_id: int) -> str:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise RenderError("organization_missing")
    return organization.name


def _greeting(
    session: Session,
    email: Email,
    *,
    organization_id: int,
    user: User | None = None,
    members: dict[tuple[int, int], Contact] | None = None,
) -> str:
    """The salutation: with the first name when the recipient is a contact we know (the
    account's contact in this organization; `members` when preloaded)."""
    if user is None and email.recipient_user_id is not None:
        user = session.get(User, email.recipient_user_id)
    contact: Contact | None = None
    if user is not None and members is not None:
        contact = members.get((user.id, organization_id)) or members.get(
            (user.id, ANY_ORGANIZATION)
        )
    elif user is not None:
        contact = session.scalars(
            select(Contact)
            .where(Contact.user_id == user.id, Contact.status != ContactStatus.ARCHIVED)
            .order_by((Contact.organization_id == organization_id).desc(), Contact.id)
        ).first()
    elif user is None and email.recipient:
        contact = session.scalars(
            select(Contact).where(
                Contact.organization_id == organization_id,
                Contact.status == ContactStatus.ACTIVE,
                func.lower(Contact.email) == email.recipient.strip().lower(),
            )
        ).first()
    if contact is None or contact.status == ContactStatus.ARCHIVED or not contact.first_name:
        return "Hello,"
    return f"Hello {contact.first_name.strip()},"


def _to_staff(session: Session, email: Email) -> bool:
    """Whether the email goes to the vendor's staff (a staff account or the review address)."""
    if email.recipient_user_id is not None:
        user = session.get(User, email.recipient_user_id)
        return bool(user is not None and user.is_staff)
    staff_address = current_app.config["STAFF_NOTIFICATION_ADDRESS"] or ""
    return (email.recipient or "").strip().lower() == staff_address.strip().lower()


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
