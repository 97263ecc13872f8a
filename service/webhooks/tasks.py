"""The webhook job: `webhook-<delivery id>` makes one attempt at one delivery, and the sweep
finds every due delivery again (a lost job, a backoff that ran out, a replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.extensions import db
from service.jobs import WEBHOOK_QUEUE, Work, finds_pending_work, gives_up, job
from service.metrics import WEBHOOK_ATTEMPTS
from service.models_base import utcnow
from service.webhooks import delivery
from service.webhooks.models import DeliveryStatus, WebhookDelivery


@job(WEBHOOK_QUEUE, name="webhook", timeout=60)
def deliver_webhook(delivery_id: int) -> str:
    """Attempt one delivery; a second run finds it delivered, held or waiting for its backoff."""
    session = db.session
    attempt = delivery.claim(session=session(), delivery_id=delivery_id)
    session.commit()
    if attempt is None:
        return "nothing to do"
    answer = delivery.post(attempt)
    if answer.ok:
        delivery.record_delivered(session=session(), attempt=attempt, answer=answer)
        session.commit()
        WEBHOOK_ATTEMPTS.labels("delivered").inc()
        return "delivered"
    gave_up = delivery.record_failure(session=session(), attempt=attempt, answer=answer)
    session.commit()
    WEBHOOK_ATTEMPTS.labels("given up" if gave_up else "failed").inc()
    return "given up" if gave_up else "failed"


@finds_pending_work
def pending_deliveries(session: Session) -> list[Work]:
    """Every due delivery to an active endpoint waits for its job."""
    now: datetime = utcnow()
    ids = session.scalars(
        select(WebhookDelivery.id)
        .where(delivery.due(now), delivery.active_endpoint())
        .order_by(WebhookDelivery.id)
    )
    return [deliver_webhook.work(delivery_id) for delivery_id in ids]


@gives_up(deliver_webhook.name)
def give_up_delivery(session: Session, delivery_id: int) -> None:
    """Staff discarded the delivery's job: it is failed, and may be replayed later."""
    found = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if found is not None and found.status == DeliveryStatus.PENDING:
        found.status = DeliveryStatus.FAILED
        found.next_attempt_at = None
        found.last_error = (
            f"discarded after {found.last_error}" if found.last_error else "discarded"
        )
        session.flush()
