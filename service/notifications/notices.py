"""Notices to the review queue about the service itself (an endpoint disabled, …).

Apart from `service.py` because the jobs that record them sit under the ticket workflow, which
`service.py` (through `service.access`) is above: a notice needs only the email and its job.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from service.notifications.models import Email
from service.notifications.tasks import send_email


def staff_notice(*, session: Session, template: str, context: dict[str, Any]) -> Email:
    """A notice to the review queue (`context`: ids and codes, rendered from it alone)."""
    email = Email(
        template=template,
        recipient=current_app.config["STAFF_NOTIFICATION_ADDRESS"],
        context=context,
    )
    session.add(email)
    session.flush()
    send_email.after_commit(session, email.id)
    return email
