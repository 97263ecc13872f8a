"""Imports every model so that Alembic and `db.metadata` see the whole schema."""

from service.accounts.models import AccessToken, User
from service.contacts.models import Contact, ContactRole, Role
from service.organizations.models import Delegation, Organization
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.tickets.models import Ticket, TicketEvent

__all__ = [
    "AccessToken",
    "ChangeRequest",
    "ChangeRequestItem",
    "Contact",
    "ContactRole",
    "Delegation",
    "Organization",
    "Role",
    "Ticket",
    "TicketEvent",
    "User",
]
