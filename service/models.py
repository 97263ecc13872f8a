"""Imports every model so that Alembic and `db.metadata` see the whole schema."""

from service.accounts.models import AccessToken, AccountToken, CounterErasure, User
from service.contacts.models import Contact, ContactRole, Role
from service.notifications.models import Email
from service.organizations.models import Delegation, Organization
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.tickets.models import (
    Ticket,
    TicketApproval,
    TicketComment,
    TicketEvent,
    TicketStatusCount,
)
from service.webhooks.models import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "AccessToken",
    "AccountToken",
    "ChangeRequest",
    "ChangeRequestItem",
    "Contact",
    "ContactRole",
    "CounterErasure",
    "Delegation",
    "Email",
    "Organization",
    "Role",
    "Ticket",
    "TicketApproval",
    "TicketComment",
    "TicketEvent",
    "TicketStatusCount",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookSubscription",
]
