"""Every job of the service, imported once so that each is declared before work is dispatched.

The job bodies live beside their domains; `service.jobs` holds the registry they join.
"""

from service.accounts.tasks import forget_counters, pending_counter_erasures
from service.notifications.tasks import pending_emails, send_email, send_event_emails
from service.organizations.tasks import closed_organizations_to_purge, purge_closed_organization
from service.requests.tasks import apply_ticket, approved_tickets
from service.tickets.tasks import reduce_old_tickets, retention_due, send_reminders
from service.webhooks.tasks import deliver_webhook, pending_deliveries

__all__ = [
    "apply_ticket",
    "approved_tickets",
    "closed_organizations_to_purge",
    "deliver_webhook",
    "forget_counters",
    "pending_counter_erasures",
    "pending_deliveries",
    "pending_emails",
    "purge_closed_organization",
    "reduce_old_tickets",
    "retention_due",
    "send_email",
    "send_event_emails",
    "send_reminders",
]
