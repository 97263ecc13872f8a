"""Rendering an Email row into its subject, text and HTML from templates/emails/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import TokenPurpose, User, UserStatus
from service.config import PROJECT_ROOT
from service.contacts.models import Contact, ContactStatus
from service.notifications.models import Email
from service.organizations.models import Organization
from service.requests.describe import describe
from service.requests.models import ChangeRequestItem
from service.tickets.models import Ticket, TicketComment

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "emails"

TICKET_TEMPLATES = frozenset(
    {
        "ticket_raised",
        "ticket_query",
        "customer_reply",
        "ticket_cancelled",
        "ticket_rejected",
        "ticket_implemented",
        "apply_failed",
    }
)
COMMENT_TEMPLATES = frozenset({"ticket_query", "customer_reply"})
# Account emails carry a fresh link: its purpose, the page it opens and the button's label.
ACCOUNT_TEMPLATES = {
    "welcome": (TokenPurpose.ACTIVATION, "activate", "Set your password"),
    "password_reset": (TokenPurpose.PASSWORD_RESET, "reset", "Choose a new password"),
}
TEMPLATES = TICKET_TEMPLATES | ACCOUNT_TEMPLATES.keys()

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
    """Subject, text and HTML of the email, loaded from the ids in its context and the database.

    Account emails carry `link`, made by the delivery just before (`delivery.account_link`).
    """
    if email.template not in TEMPLATES:
        raise RenderError("unknown_template")
    values: dict[str, Any] = {"base_url": current_app.config["BASE_URL"], "reference": None}
    if email.template in ACCOUNT_TEMPLATES:
        if link is None:
            raise RenderError("link_missing")
        values.update(_account_values(session, email, link))
    else:
        values.update(_ticket_values(session, email))
    environment = _environment()
    subject = environment.get_template(f"{email.template}.subject.txt").render(values)
    values["subject"] = " ".join(subject.split())
    return Rendered(
        subject=values["subject"],
        text=environment.get_template(f"{email.template}.txt").render(values),
        html=environment.get_template(f"{email.template}.html").render(values),
    )


@cache
def _environment() -> Environment:
    # Only .html is escaped: the text parts and subjects show what people wrote, as they wrote it.
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _ticket_values(session: Session, email: Email) -> dict[str, Any]:
    ticket_id = email.ticket_id or email.context.get("ticket_id")
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        raise RenderError("ticket_missing")
    link = f"{current_app.config['BASE_URL']}/tickets/{ticket.reference}"
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
        "greeting": _greeting(session, email, organization_id=ticket.organization_id),
        "to_staff": _to_staff(session, email),
        "reason": ticket.resolution_reason,
        "failure_code": ticket.failure_code,
        "failure_message": ticket.failure_message,
    }
    if email.template in COMMENT_TEMPLATES:
        values["comment"] = _public_comment(session, email, ticket).body
    if email.template == "ticket_raised":
        values["change_count"] = session.scalar(
            select(func.count())
            .select_from(ChangeRequestItem)
            .where(ChangeRequestItem.change_request_id == ticket.change_request_id)
        )
    if email.template == "ticket_implemented":
        summaries = [
            line.summary
            for line in describe(session=session, change_request_id=ticket.change_request_id)
        ]
        values["summaries"] = summaries[:MAX_SUMMARY_LINES]
        values["more_summaries"] = max(0, len(summaries) - MAX_SUMMARY_LINES)
    return values


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


def _account_values(session: Session, email: Email, link: str) -> dict[str, Any]:
    user = account_owner(session, email)
    _, _, label = ACCOUNT_TEMPLATES[email.template]
    return {
        "action_url": link,
        "action_label": label,
        "organization": _organization_name(session, user.organization_id),
        "greeting": _greeting(session, email, organization_id=user.organization_id, user=user),
        "valid_for": _duration(current_app.config["ACTIVATION_TOKEN_TTL_SECONDS"]),
    }


def _public_comment(session: Session, email: Email, ticket: Ticket) -> TicketComment:
    """The comment the email quotes; a staff-internal note is never sent to anyone."""
    comment_id = email.context.get("comment_id")
    comment = session.get(TicketComment, comment_id) if comment_id else None
    if comment is None or comment.ticket_id != ticket.id:
        raise RenderError("comment_missing")
    if comment.internal:
        raise RenderError("internal_comment")
    return comment


def _organization_name(session: Session, organization_id: int) -> str:
    return session.scalars(
        select(Organization.name).where(Organization.id == organization_id)
    ).one()


def _greeting(
    session: Session, email: Email, *, organization_id: int, user: User | None = None
) -> str:
    """The salutation: with the first name when the recipient is a contact we know."""
    if user is None and email.recipient_user_id is not None:
        user = session.get(User, email.recipient_user_id)
    contact: Contact | None = None
    if user is not None and user.contact_id is not None:
        contact = session.get(Contact, user.contact_id)
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
        return bool(session.scalar(select(User.is_staff).where(User.id == email.recipient_user_id)))
    staff_address = current_app.config["STAFF_NOTIFICATION_ADDRESS"] or ""
    return (email.recipient or "").strip().lower() == staff_address.strip().lower()


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
