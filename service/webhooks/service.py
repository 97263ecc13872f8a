"""Staff's webhook endpoints: register, change, rotate the secret, remove; deliveries and replay.

Staff only (`service.access.require_staff`). An endpoint's secret is shown when it is made and
when it is rotated, never again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service import access
from service.accounts.service import Actor
from service.errors import Conflict, NotFound
from service.models_base import Page, read_model, utcnow
from service.organizations.models import Organization
from service.sql import column_in
from service.webhooks import delivery, signing
from service.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSubscription,
)
from service.webhooks.tasks import deliver_webhook

ENDPOINT_NOT_FOUND = "No such webhook endpoint."
DELIVERY_NOT_FOUND = "No such webhook delivery."


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    description: str | None
    organization: str | None
    events: list[str]
    status: EndpointStatus
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    secret: str | None = None  # only right after it was made or rotated


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    event_at: datetime
    status: DeliveryStatus
    attempts: int
    replays: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def _staff(actor: Actor, what: str) -> None:
    access.require_staff(actor, what=what)


def _endpoint(session: Session, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    found = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if found is None:
        raise NotFound(ENDPOINT_NOT_FOUND)
    return found


def _organization_id(session: Session, slug: str | None) -> int | None:
    if slug is None:
        return None
    org_id = session.scalar(select(Organization.id).where(Organization.slug == slug))
    if org_id is None:
        raise NotFound(access.ORGANIZATION_NOT_FOUND, code="unknown_organization")
    return org_id


def _subscribe(session: Session, endpoint_id: int, events: Iterable[EventType]) -> None:
    session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.endpoint_id == endpoint_id)
    )
    rows = [{"endpoint_id": endpoint_id, "event_type": e.value} for e in sorted(set(events))]
    if rows:
        session.execute(WebhookSubscription.__table__.insert(), rows)


def views(session: Session, endpoints: list[WebhookEndpoint]) -> list[EndpointView]:
    """The endpoints as staff see them, with their events and organizations: three statements."""
    ids = [e.id for e in endpoints]
    events: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for endpoint_id, event_type in session.execute(
            select(WebhookSubscription.endpoint_id, WebhookSubscription.event_type)
            .where(WebhookSubscription.endpoint_id.in_(ids))
            .order_by(WebhookSubscription.event_type)
        ):
            events[endpoint_id].append(event_type)
    org_ids = {e.organization_id for e in endpoints if e.organization_id is not None}
    slugs = (
        dict(
            session.execute(
                select(Organization.id, Organization.slug).where(Organization.id.in_(org_ids))
            )
            .tuples()
            .all()
        )
        if org_ids
        else {}
    )
    return [
        read_model(
            EndpointView,
            e,
            organization=slugs.get(e.organization_id) if e.organization_id else None,
            events=events[e.id],
        )
        for e in endpoints
    ]


def _view(
    session: Session, endpoint: WebhookEndpoint, *, secret: str | None = None
) -> EndpointView:
    (found,) = views(session, [endpoint])
    if secret is None:
        return found
    return replace(found, secret=secret)


def list_endpoints(*, session: Session, actor: Actor) -> list[EndpointView]:
    """Every endpoint, oldest first (staff)."""
    _staff(actor, "see the webhook endpoints")
    endpoints = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    return views(session, endpoints)


def get_endpoint(*, session: Session, actor: Actor, endpoint_id: int) -> EndpointView:
    _staff(actor, "see the webhook endpoints")
    return _view(session, _endpoint(session, endpoint_id))


def register(*, session: Session, actor: Actor, data: Mapping[str, Any]) -> EndpointView:
    """A new endpoint for the vendor (every organization) or one organization; its secret is
    in the answer, once."""
    _staff(actor, "register webhook endpoints")
    now = utcnow()
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        url=data["url"],
        description=data.get("description"),
        organization_id=_organization_id(session, data.get("organization")),
        status=EndpointStatus.ACTIVE,
        secret=secret,
        created_by_id=actor.user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _subscribe(session, endpoint.id, data["events"])
    return _view(session, endpoint, secret=secret)


def change(
    *, session: Session, actor: Actor, endpoint_id: int, data: Mapping[str, Any]
) -> EndpointView:
    """Change the URL, description, events or whether it is enabled. Enabling it again ends
    its run of failures; deliveries still pending resume."""
    _staff(actor, "change webhook endpoints")
    endpoint = _endpoint(session, endpoint_id, lock=True)
    if "url" in data:
        endpoint.url = data["url"]
    if "description" in data:
        endpoint.description = data["description"]
    if "events" in data:
        _subscribe(session, endpoint.id, data["events"])
    if "enabled" in data:
        if data["enabled"] and endpoint.status != EndpointStatus.ACTIVE:
            endpoint.status = EndpointStatus.ACTIVE
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
            endpoint.failing_since = None
            _resume(session, endpoint.id)
        elif not data["enabled"] and endpoint.status == EndpointStatus.ACTIVE:
            delivery.disable(session=session, endpoint=endpoint, reason="staff")
    endpoint.updated_at = utcnow()
    session.flush()
    return _view(session, endpoint)


def _resume(session: Session, endpoint_id: int) -> None:
    """Deliveries left pending while the endpoint was disabled go out after commit."""
    for delivery_id in session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
    ):
        deliver_webhook.after_commit(session, delivery_id)


def rotate_secret(*, session: Session, actor: Actor, endpoint_id: int) -> EndpointView:
    """A new secret signs from now on; the previous one signs too for `ROTATION_GRACE`."""
    _staff(actor, "rotate webhook secrets")
    endpoint = _endpoint(session, endpoint_id, lock=True)
    now = utcnow()
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + delivery.ROTATION_GRACE
    endpoint.secret = secret
    endpoint.updated_at = now
    session.flush()
    return _view(session, endpoint, secret=secret)


def remove(*, session: Session, actor: Actor, endpoint_id: int) -> None:
    """The endpoint, its subscriptions and its deliveries go; the events stay."""
    _staff(actor, "remove webhook endpoints")
    endpoint = _endpoint(session, endpoint_id, lock=True)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.endpoint_id == endpoint.id)
    )
    session.delete(endpoint)
    session.flush()


def list_deliveries(
    *,
    session: Session,
    actor: Actor,
    endpoint_id: int,
    status: DeliveryStatus | None,
    page: int,
    per_page: int,
) -> Page[DeliveryView]:
    """One page of an endpoint's deliveries, newest first (staff)."""
    _staff(actor, "see webhook deliveries")
    _endpoint(session, endpoint_id)
    where = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.execute(
        select(WebhookDelivery, WebhookEvent.uid, WebhookEvent.event_type, WebhookEvent.created_at)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(*where)
        .order_by(WebhookDelivery.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page[DeliveryView](
        items=[_delivery_view(d, uid, event_type, at) for d, uid, event_type, at in rows],
        page=page,
        per_page=per_page,
        total=total,
    )


def _delivery_view(d: WebhookDelivery, uid: str, event_type: str, at: datetime) -> DeliveryView:
    return read_model(DeliveryView, d, event_id=uid, event_type=event_type, event_at=at)


def replay(*, session: Session, actor: Actor, endpoint_id: int, delivery_id: int) -> int:
    """Send a delivered or failed delivery again, with the same `webhook-id` and a fresh day of
    attempts; a pending one is refused (409), it is still being attempted."""
    _staff(actor, "replay webhook deliveries")
    found = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if found is None or found.endpoint_id != endpoint_id:
        raise NotFound(DELIVERY_NOT_FOUND)
    if found.status == DeliveryStatus.PENDING:
        raise Conflict(
            "The delivery is still pending: it is attempted until it succeeds or is given up.",
            code="delivery_pending",
        )
    _replay(session, [found.id])
    return found.id


def replay_failed(*, session: Session, actor: Actor, endpoint_id: int) -> list[int]:
    """Send every failed delivery of the endpoint again (after it was fixed and enabled)."""
    _staff(actor, "replay webhook deliveries")
    _endpoint(session, endpoint_id)
    ids = list(
        session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == DeliveryStatus.FAILED,
            )
        )
    )
    return _replay(session, ids)


def _replay(session: Session, delivery_ids: list[int]) -> list[int]:
    if not delivery_ids:
        return []
    replayed = list(
        session.scalars(
            update(WebhookDelivery)
            .where(
                column_in(session, WebhookDelivery.id, delivery_ids),
                WebhookDelivery.status != DeliveryStatus.PENDING,
            )
            .values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=None,
                replays=WebhookDelivery.replays + 1,
            )
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    for delivery_id in replayed:
        deliver_webhook.after_commit(session, delivery_id)
    return sorted(replayed)


def delivery_counts(*, session: Session) -> dict[int, dict[str, int]]:
    """Deliveries per endpoint and status: one statement (the page checks staff first)."""
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, number in session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(endpoint_id, {})[DeliveryStatus(status).value] = number
    return counts
