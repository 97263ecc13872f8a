"""The job functions RQ runs. Each takes an id, opens its own app context, and is safe to rerun."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from service.extensions import db
from workers.context import job_context

log = logging.getLogger(__name__)


def apply_ticket(ticket_id: int) -> str:
    """Apply an approved change request; a second run finds it done and returns."""
    from service.requests.apply import ApplyFailed, apply, record_failure

    with job_context():
        try:
            applied = apply(session=db.session(), ticket_id=ticket_id)
            db.session.commit()
        except ApplyFailed as exc:
            db.session.rollback()
            record_failure(
                session=db.session(), ticket_id=ticket_id, code=exc.code, message=exc.message
            )
            db.session.commit()
            return "failed"
        except DBAPIError:
            # The database itself failed (connection lost, deadlock): let RQ retry the job.
            db.session.rollback()
            raise
        except Exception as exc:
            db.session.rollback()
            log.exception("apply of ticket %s failed", ticket_id)
            record_failure(
                session=db.session(),
                ticket_id=ticket_id,
                code="apply_error",
                message=f"Unexpected error while applying ({type(exc).__name__}); "
                "nothing was changed. The worker log has the details.",
            )
            db.session.commit()
            return "failed"
        return "done" if applied else "nothing to do"


def send_email(email_id: int) -> str:
    """Deliver one recorded email; a second run finds it sent and sends nothing."""
    from service.notifications.delivery import DeliveryError, deliver, mark_failed

    with job_context():
        try:
            sent = deliver(session=db.session(), email_id=email_id)
            db.session.commit()
        except DeliveryError as exc:
            # The attempt (and its error, without personal data) is recorded before retrying.
            db.session.commit()
            if exc.permanent:
                mark_failed(session=db.session(), email_id=email_id, reason_code="refused")
                db.session.commit()
                return "refused"
            raise
        return "sent" if sent else "nothing to do"


def relay(_minute: int = 0) -> int:
    """Re-send to Redis whatever the database says is still to do, then run again later."""
    from workers.relay import resend_pending, schedule_next

    with job_context():
        sent = resend_pending()
        schedule_next()
        return sent
