"""The tickets' jobs: retention, which reduces finished tickets past the retention period a batch
at a time as the sweep finds them (`service/tickets/retention.py`), and the reminders, which
run on RQ's scheduler every `REMINDERS_EVERY_SECONDS` (`service/tickets/reminders.py`)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from service.extensions import db
from service.jobs import MAINTENANCE_QUEUE, Work, finds_pending_work, job, runs_every
from service.metrics import REMINDERS_SENT, RETENTION_REDUCED, TICKETS_AUTO_CLOSED
from service.models_base import utcnow
from service.tickets import reminders, retention
from service.tickets.models import ReminderKind

# There is one retention job: its id is always `retention-1`, so however many workers' sweeps
# find work for it, one runs at a time.
RETENTION_TARGET = 1
# A run stops starting batches after this long; the sweep sends it again for the rest.
RUN_SECONDS = 60


@job(MAINTENANCE_QUEUE, name="retention", timeout=300)
def reduce_old_tickets(target_id: int) -> str:
    """Reduce every due ticket, a batch and a commit at a time."""
    stop_at = time.monotonic() + RUN_SECONDS
    done = retention.Figures()
    while time.monotonic() < stop_at:
        figures = retention.reduce(session=db.session(), now=utcnow())
        db.session.commit()
        if not figures.tickets:
            break
        count(figures)
        done += figures
    return "reduced" if done.tickets else "nothing to do"


def count(figures: retention.Figures) -> None:
    for what in ("tickets", "items", "texts", "emails"):
        RETENTION_REDUCED.labels(what).inc(getattr(figures, what))


@finds_pending_work
def retention_due(session: Session) -> list[Work]:
    """The retention job, when a finished ticket has passed the retention period."""
    if retention.any_due(session=session, now=utcnow()):
        return [reduce_old_tickets.work(RETENTION_TARGET)]
    return []


@runs_every("REMINDERS_EVERY_SECONDS")
@job(MAINTENANCE_QUEUE, name="reminders", timeout=300)
def send_reminders(period: int) -> str:
    """Send every due reminder and close every unanswered ticket, a batch and a commit at a
    time. `period` names the run (its job id); what is due is the database's to say, so a
    second run of a period sends only what fell due since."""
    return "sent" if run_reminders().total else "nothing due"


def run_reminders() -> reminders.Figures:
    """What `send_reminders` does, in the current session (`flask --app service reminders`)."""
    stop_at = time.monotonic() + RUN_SECONDS
    done = reminders.Figures()
    while time.monotonic() < stop_at:
        figures = reminders.send_due(session=db.session(), now=utcnow())
        db.session.commit()
        count_reminders(figures)
        done += figures
        if max(figures.sent.values(), default=0) < reminders.BATCH:
            break
    return done


def count_reminders(figures: reminders.Figures) -> None:
    for kind, sent in figures.sent.items():
        if kind == ReminderKind.CLOSED_UNANSWERED:
            TICKETS_AUTO_CLOSED.inc(sent)
        else:
            REMINDERS_SENT.labels(kind.value).inc(sent)
