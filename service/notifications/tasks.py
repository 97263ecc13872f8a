"""The email job: each recorded email is delivered by a worker, and found again if lost."""

from __future__ import annotations

from rq import Retry
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.extensions import db
from service.jobs import EMAIL_QUEUE, Work, finds_pending_work, gives_up, job
from service.metrics import EMAILS
from service.notifications.delivery import DeliveryError, deliver, mark_failed
from service.notifications.models import Email, EmailStatus


@job(EMAIL_QUEUE, name="email", timeout=60, retry=Retry(max=5, interval=[30, 120, 600, 1800, 3600]))
def send_email(email_id: int) -> str:
    """Deliver one recorded email; a second run finds it sent and sends nothing."""
    try:
        sent = deliver(session=db.session(), email_id=email_id)
        db.session.commit()
    except DeliveryError as exc:
        # The attempt (and its error, without personal data) is recorded before retrying.
        db.session.commit()
        if exc.permanent:
            mark_failed(session=db.session(), email_id=email_id, reason_code="refused")
            db.session.commit()
            EMAILS.labels("failed").inc()
            return "refused"
        raise
    if not sent:
        return "nothing to do"
    EMAILS.labels("sent").inc()
    return "sent"


@finds_pending_work
def pending_emails(session: Session) -> list[Work]:
    """Every email still pending waits for its delivery."""
    ids = session.scalars(
        select(Email.id).where(Email.status == EmailStatus.PENDING).order_by(Email.id)
    )
    return [send_email.work(email_id) for email_id in ids]


@gives_up(send_email.name)
def give_up_email(session: Session, email_id: int) -> None:
    """Staff discarded the email's job: the email is given up, as after its last attempt."""
    if mark_failed(session=session, email_id=email_id, reason_code="discarded"):
        EMAILS.labels("failed").inc()
