"""The retention job: finished tickets past the retention period are reduced, a batch at a time,
and the sweep finds them as they come due (`service/tickets/retention.py`)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from service.extensions import db
from service.jobs import MAINTENANCE_QUEUE, Work, finds_pending_work, job
from service.metrics import RETENTION_REDUCED
from service.models_base import utcnow
from service.tickets import retention

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
