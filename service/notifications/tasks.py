"""The email jobs: the emails of a ticket event go out in one burst, and are found again if lost.

`emails-<event id>` delivers every due email recorded with one ticket event (the welcome emails
of an applied batch, the notices of a new ticket) over one SMTP connection; `email-<id>` delivers
one email recorded without an event (a password reset, an invitation sent again). Each email is
claimed, prepared, sent and recorded as `service/notifications/delivery.py` describes; the job
owns the transactions and commits each step.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.extensions import db
from service.jobs import EMAIL_QUEUE, Work, finds_pending_work, gives_up, job
from service.metrics import EMAILS
from service.models_base import utcnow
from service.notifications import delivery
from service.notifications.delivery import Selection, SendFailed
from service.notifications.models import Email

log = logging.getLogger(__name__)

# A job stops claiming after this long and leaves the rest to the next job (the sweep sends
# it): other queues get their turn, and the job ends well inside its timeout.
BURST_SECONDS = 120
# Sent emails are recorded this many at a time, or after this long: a worker that dies mid-burst
# leaves at most these to go out twice (under the same Message-ID), and a burst does not pay a
# commit per email.
RECORD_EVERY = 20
RECORD_SECONDS = 0.2


@job(EMAIL_QUEUE, name="emails", timeout=300)
def send_event_emails(event_id: int) -> str:
    """Deliver the due emails of one ticket event; a second run finds them sent."""
    return deliver(Selection(event_id=event_id))


@job(EMAIL_QUEUE, name="email", timeout=300)
def send_email(email_id: int) -> str:
    """Deliver one email recorded without an event; a second run finds it sent."""
    return deliver(Selection(email_id=email_id))


class Outcomes:
    """What a burst did: sent emails are recorded a few at a time (`flush` commits them), and
    counted with the emails given up on."""

    def __init__(self) -> None:
        self.unrecorded: list[int] = []
        self.since = 0.0
        self.sent = 0
        self.failed = 0  # attempts that failed in this run

    def delivered(self, email_id: int) -> None:
        if not self.unrecorded:
            self.since = time.monotonic()
        self.unrecorded.append(email_id)
        if len(self.unrecorded) >= RECORD_EVERY or time.monotonic() - self.since > RECORD_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Record the sent emails not recorded yet, with whatever else the session holds."""
        delivery.record_sent(session=db.session(), email_ids=self.unrecorded)
        db.session.commit()
        EMAILS.labels("sent").inc(len(self.unrecorded))
        self.sent += len(self.unrecorded)
        self.unrecorded = []

    def outcome(self) -> str:
        """The job's answer, one of a few (its metric's label): `sent`, `partly sent`,
        `not sent` or `nothing to do`; the counts are in the log line."""
        if self.failed:
            return "partly sent" if self.sent else "not sent"
        return "sent" if self.sent else "nothing to do"

    def gave_up(self, count: int) -> None:
        """`count` emails were failed for good (committed)."""
        EMAILS.labels("failed").inc(count)


def deliver(selection: Selection) -> str:
    """Claim, prepare, send and record the selected due emails, a claim at a time."""
    session = db.session
    mailer = delivery.mailer()
    outcomes = Outcomes()
    stop_at = time.monotonic() + BURST_SECONDS
    while time.monotonic() < stop_at:
        claimed = delivery.claim(session=session(), selection=selection)
        session.commit()
        if not claimed:
            break
        window_ends = time.monotonic() + delivery.SEND_WINDOW_SECONDS
        try:
            prepared = delivery.prepare(session=session(), email_ids=claimed)
            session.commit()
        except Exception as exc:
            # Every error counts as an attempt: record it for the whole claim, if the database
            # lets us, and fail the job (the sweep sends the emails again after the backoff).
            session.rollback()
            gave_up = delivery.record_failure(
                session=session(), email_ids=claimed, reason=type(exc).__name__
            )
            session.commit()
            outcomes.gave_up(gave_up)
            raise
        outgoing = prepared.outgoing
        outcomes.failed += len(claimed) - len(outgoing)
        outcomes.gave_up(prepared.gave_up)
        for position, item in enumerate(outgoing):
            if time.monotonic() > window_ends:
                delivery.release(
                    session=session(), email_ids=[o.email_id for o in outgoing[position:]]
                )
                break
            try:
                mailer.send(item)
            except SendFailed as exc:
                gave_up = delivery.record_failure(
                    session=session(),
                    email_ids=[item.email_id],
                    reason=exc.reason,
                    permanent=exc.permanent,
                )
                outcomes.flush()
                outcomes.failed += 1
                outcomes.gave_up(gave_up)
                continue
            outcomes.delivered(item.email_id)
        outcomes.flush()
    if outcomes.sent or outcomes.failed:
        log.info("%s: %d sent, %d failed", selection, outcomes.sent, outcomes.failed)
    return outcomes.outcome()


@finds_pending_work
def pending_emails(session: Session) -> list[Work]:
    """Every due email waits for its delivery: its event's job, or its own."""
    now: datetime = utcnow()
    rows = session.execute(
        select(Email.id, Email.event_id).where(delivery.due(now)).order_by(Email.id)
    ).all()
    events = dict.fromkeys(event_id for _, event_id in rows if event_id is not None)
    singles = [email_id for email_id, event_id in rows if event_id is None]
    return [send_event_emails.work(event_id) for event_id in events] + [
        send_email.work(email_id) for email_id in singles
    ]


@gives_up(send_event_emails.name)
def give_up_event_emails(session: Session, event_id: int) -> None:
    """Staff discarded the event's email job: its pending emails are given up."""
    for email_id in session.scalars(
        select(Email.id).where(Email.event_id == event_id).order_by(Email.id)
    ):
        if delivery.mark_failed(session=session, email_id=email_id, reason_code="discarded"):
            EMAILS.labels("failed").inc()


@gives_up(send_email.name)
def give_up_email(session: Session, email_id: int) -> None:
    """Staff discarded the email's job: the email is given up, as after its last attempt."""
    if delivery.mark_failed(session=session, email_id=email_id, reason_code="discarded"):
        EMAILS.labels("failed").inc()
