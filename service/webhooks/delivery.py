"""Delivering one webhook: claimed, built from ids, signed, posted, recorded.

An attempt goes through three steps, the database ones committed by the job
(`service/webhooks/tasks.py`) before the next starts:

1. `claim`: the attempt is counted and the delivery held for `CLAIM_SECONDS`, before the HTTP
   request: at most one attempt is in flight, and a worker that dies mid-attempt leaves the
   delivery free again once the claim runs out. The payload is built then, from the event's ids.
2. `post`: the body goes out, signed as Standard Webhooks says (`signing.py`), with a timeout
   and without following redirects. A 2xx answer is a success; anything else a failure.
3. `record_delivered` or `record_failure`: a failed attempt waits for `BACKOFF_SECONDS` (about
   a day in all); after `MAX_ATTEMPTS` the delivery is `failed`, and an endpoint that has not
   succeeded since its failures began is disabled, and staff are told by email.

Only the HTTP status or the error's type is kept, never the receiver's answer.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from service.models_base import isoformat, utcnow
from service.notifications import notices
from service.organizations.models import Organization
from service.tickets.models import Ticket, format_reference
from service.webhooks import signing
from service.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

log = logging.getLogger(__name__)

# Wait after the n-th failed attempt (23.6 hours in all): the last attempt comes a day after
# the first.
BACKOFF_SECONDS = (10, 60, 300, 1800, 3600, 7200, 14400, 28800, 28800)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
CLAIM_SECONDS = 60
TIMEOUT_SECONDS = 10
# How long the previous secret still signs after a rotation.
ROTATION_GRACE = timedelta(hours=24)
USER_AGENT = "Rolegate-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """One claimed attempt, ready for the wire: plain values, so posting needs no database."""

    delivery_id: int
    endpoint_id: int
    url: str
    msg_id: str
    body: bytes
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the endpoint answered: an HTTP status, or the type of the error that kept it from
    answering."""

    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def due(now: datetime) -> Any:
    """Pending deliveries nobody is attempting, whose backoff is over."""
    return and_(
        WebhookDelivery.status == DeliveryStatus.PENDING,
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
    )


def active_endpoint() -> Any:
    return WebhookDelivery.endpoint_id.in_(
        select(WebhookEndpoint.id).where(WebhookEndpoint.status == EndpointStatus.ACTIVE)
    )


def claim(*, session: Session, delivery_id: int) -> Attempt | None:
    """Start an attempt at the delivery when it is due and its endpoint active; None when not."""
    now = utcnow()
    claimed = session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, due(now), active_endpoint())
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            last_attempt_at=now,
        )
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        return None
    organization = aliased(Organization)
    delegate = aliased(Organization)
    row = session.execute(
        select(WebhookEvent, WebhookEndpoint, organization.slug, delegate.slug, Ticket.kind)
        .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(organization, organization.id == WebhookEvent.organization_id)
        .outerjoin(delegate, delegate.id == WebhookEvent.delegate_organization_id)
        .outerjoin(Ticket, Ticket.id == WebhookEvent.ticket_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    event, endpoint, org_slug, delegate_slug, ticket_kind = row
    return Attempt(
        delivery_id=delivery_id,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        msg_id=event.uid,
        body=body(event, org_slug=org_slug, delegate_slug=delegate_slug, ticket_kind=ticket_kind),
        secrets=signing_secrets(endpoint, now),
    )


def payload(
    event: WebhookEvent, *, org_slug: str, delegate_slug: str | None, ticket_kind: str | None
) -> dict[str, Any]:
    """The message, Standard Webhooks' shape: `type`, `timestamp` (when it happened), `data`
    (ids, references and short names: never a name, an address or a phone)."""
    data: dict[str, Any] = {"organization": org_slug}
    if event.ticket_id is not None:
        data["ticket"] = format_reference(ticket_kind or "change_request", event.ticket_id)
    if event.contact_id is not None:
        data["contact_id"] = event.contact_id
    if delegate_slug is not None:
        data["delegate_organization"] = delegate_slug
    return {"type": event.event_type, "timestamp": isoformat(event.created_at), "data": data}


def body(
    event: WebhookEvent, *, org_slug: str, delegate_slug: str | None, ticket_kind: str | None
) -> bytes:
    document = payload(
        event, org_slug=org_slug, delegate_slug=delegate_slug, ticket_kind=ticket_kind
    )
    return json.dumps(document, separators=(",", ":")).encode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its grace period lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (3xx, a failure), never followed: the URL staff registered is the
    only place a signed payload goes."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(attempt: Attempt) -> Answer:
    """Send one attempt, signed now; the answer's status or the error's type."""
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.headers(
            attempt.secrets, msg_id=attempt.msg_id, timestamp=timestamp, body=attempt.body
        ),
    }
    request = urllib.request.Request(attempt.url, data=attempt.body, headers=headers, method="POST")
    timeout = current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", TIMEOUT_SECONDS)
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(65536)
            return Answer(response.status, None)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(exc.code, None)
    except Exception as exc:
        # Refused connections, timeouts, TLS failures, an unreadable answer: maybe later.
        reason = getattr(exc, "reason", None)
        kind = type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__
        return Answer(None, kind)


def record_delivered(*, session: Session, attempt: Attempt, answer: Answer) -> None:
    """The endpoint took it; its run of failures, if any, is over."""
    now = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == attempt.delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(
            status=DeliveryStatus.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_status_code=answer.status_code,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == attempt.endpoint_id, WebhookEndpoint.failing_since.is_not(None)
        )
        .values(failing_since=None)
        .execution_options(synchronize_session=False)
    )


def record_failure(*, session: Session, attempt: Attempt, answer: Answer) -> bool:
    """The attempt failed: wait for the backoff, or give up after the last attempt. Whether it
    gave up. Giving up disables an endpoint that has not succeeded since its failures began."""
    now = utcnow()
    delivery = session.get(WebhookDelivery, attempt.delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return False
    delivery.last_status_code = answer.status_code
    delivery.last_error = (
        f"HTTP {answer.status_code}" if answer.status_code is not None else answer.error
    )
    endpoint = session.get(WebhookEndpoint, attempt.endpoint_id, with_for_update=True)
    if endpoint is not None and endpoint.failing_since is None:
        endpoint.failing_since = now
    if delivery.attempts < MAX_ATTEMPTS:
        step = BACKOFF_SECONDS[min(delivery.attempts, len(BACKOFF_SECONDS)) - 1]
        delivery.next_attempt_at = now + timedelta(seconds=step)
        session.flush()
        return False
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.last_error = f"gave up after {delivery.attempts} attempts: {delivery.last_error}"
    if endpoint is not None and endpoint.status == EndpointStatus.ACTIVE:
        disable(session=session, endpoint=endpoint, reason="failing")
    session.flush()
    return True


def disable(*, session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop delivering to the endpoint; when it failed, staff are told by email."""
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_at = utcnow()
    endpoint.disabled_reason = reason
    endpoint.updated_at = endpoint.disabled_at
    session.flush()
    if reason == "failing":
        log.warning("webhook endpoint %s disabled: its deliveries kept failing", endpoint.id)
        notices.staff_notice(
            session=session,
            template="webhook_disabled",
            context={"endpoint_id": endpoint.id, "host": urlsplit(endpoint.url).hostname or ""},
        )
