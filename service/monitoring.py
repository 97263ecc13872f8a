"""`GET /metrics`: Prometheus text, for a configured token or a configured address only.

What it serves:
- the counters and histograms every process keeps (`service.metrics`: requests, jobs, retries,
  the sweep's re-sends, emails, rate-limit refusals), added up over every process that shares
  `PROMETHEUS_MULTIPROC_DIR`;
- gauges read now (`LiveCollector`): tickets by status from the maintained counters
  (`ticket_status_counts`, never a count over tickets), the age of the oldest open ticket and of
  the oldest approved one still waiting to be applied, pending emails, and per RQ queue its
  depth, the age of its oldest job, its running jobs and its failed registry's size. Each is a
  read bounded by an index or by what is waiting; a dependency that does not answer leaves its
  gauges out and says so in `rolegate_dependency_up`.

Who may read it: a request with `Authorization: Bearer <METRICS_TOKEN>`, or one from an address
in `METRICS_ALLOWED_NETWORKS` (the client's address, as `TRUSTED_PROXIES` make it). Anyone else:
401, or 403 when the credentials are a signed-in user's (no account's role opens the metrics).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import ip_address

from flask import Blueprint, Response, current_app, request, session
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import sessions
from service.accounts.models import SessionKind
from service.accounts.service import bearer_token
from service.errors import Forbidden, Unauthorized
from service.extensions import db, redis_connection
from service.metrics import scrape_registry
from service.notifications.models import Email, EmailStatus
from service.queues import queue_stats
from service.read_only import reads_only
from service.tickets.models import Ticket, TicketEvent, TicketStatus, TicketStatusCount

log = logging.getLogger(__name__)

bp = Blueprint("monitoring", __name__)

# Tickets waiting on people (the review queue, the customer) and on the workers.
WAITING_ON_PEOPLE = (TicketStatus.OPEN, TicketStatus.AWAITING_CUSTOMER)
WAITING_ON_WORKERS = (TicketStatus.APPROVED, TicketStatus.APPLYING)


@bp.get("/metrics")
@reads_only
def metrics() -> Response:
    """Prometheus text: every process's counters and the gauges read now."""
    _admit()
    registry = CollectorRegistry()
    registry.register(_Exposed(scrape_registry()))
    registry.register(LiveCollector(db.session()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _admit() -> None:
    """Let the request through with the metrics token or from an allowed address; else refuse."""
    config = current_app.config
    token = bearer_token(request.headers.get("Authorization"))
    expected = config.get("METRICS_TOKEN")
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    if _from_allowed_address(config.get("METRICS_ALLOWED_NETWORKS", ())):
        return
    if _signed_in(token):
        raise Forbidden("The metrics are for the monitoring system, not for an account.")
    raise Unauthorized("The metrics need the monitoring token or an allowed address.")


def _from_allowed_address(networks: tuple) -> bool:
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _signed_in(token: str | None) -> bool:
    """Whether the request carries a live session of an account (a bearer token or the pages')."""
    found = [(token, SessionKind.BEARER)] if token else []
    web_secret = session.get(sessions.WEB_SESSION_KEY)
    if isinstance(web_secret, str):
        found.append((web_secret, SessionKind.WEB))
    return any(
        sessions.account_of(session=db.session(), secret=secret, kind=kind) is not None
        for secret, kind in found
    )


class _Exposed(Collector):
    """Another registry's metrics, served inside the scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator:
        yield from self.registry.collect()


class LiveCollector(Collector):
    """Gauges read from the database and Redis at scrape time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        up = GaugeMetricFamily(
            "rolegate_dependency_up",
            "1 when the dependency answered this scrape, 0 when it did not.",
            labels=["dependency"],
        )
        try:
            yield from self._database(now)
            up.add_metric(["database"], 1)
        except Exception as exc:
            self.session.rollback()
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric(["database"], 0)
        finally:
            self.session.rollback()
        connection = redis_connection()
        if connection is not None:
            try:
                yield from _queues(connection, now)
                up.add_metric(["queue"], 1)
            except Exception as exc:
                log.warning("metrics: Redis did not answer (%s)", type(exc).__name__)
                up.add_metric(["queue"], 0)
        yield up

    def _database(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        # Read everything first: a failure halfway must not leave half the families served.
        by_status = dict.fromkeys((status.value for status in TicketStatus), 0)
        for status, count in self.session.execute(
            select(TicketStatusCount.status, func.sum(TicketStatusCount.n)).group_by(
                TicketStatusCount.status
            )
        ):
            by_status[status] = int(count or 0)
        oldest_waiting_on_people = self.session.scalar(
            select(func.min(Ticket.created_at)).where(Ticket.status.in_(WAITING_ON_PEOPLE))
        )
        oldest_approval = self.session.scalar(select(func.min(_latest_approvals().c.at)))
        pending, oldest_pending = self.session.execute(
            select(func.count(), func.min(Email.created_at)).where(
                Email.status == EmailStatus.PENDING
            )
        ).one()

        tickets = GaugeMetricFamily(
            "rolegate_tickets",
            "Tickets by status, from the counters the workflow keeps.",
            labels=["status"],
        )
        for status, count in by_status.items():
            tickets.add_metric([status], count)
        ages = GaugeMetricFamily(
            "rolegate_ticket_oldest_age_seconds",
            "Age of the oldest ticket waiting: `open` (open or awaiting the customer, since its "
            "submission) and `approved` (approved or applying, since its approval); 0 if none.",
            labels=["waiting"],
        )
        ages.add_metric(["open"], _age(now, oldest_waiting_on_people))
        ages.add_metric(["approved"], _age(now, oldest_approval))
        emails = GaugeMetricFamily(
            "rolegate_emails_pending", "Emails recorded and not yet delivered nor given up."
        )
        emails.add_metric([], int(pending))
        email_age = GaugeMetricFamily(
            "rolegate_email_oldest_pending_age_seconds",
            "Age of the oldest email waiting for delivery; 0 if none.",
        )
        email_age.add_metric([], _age(now, oldest_pending))
        yield from (tickets, ages, emails, email_age)


def _latest_approvals():
    """When each ticket now approved or applying was (last) approved: one row per such ticket."""
    return (
        select(func.max(TicketEvent.at).label("at"))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            Ticket.status.in_(WAITING_ON_WORKERS),
            TicketEvent.to_status == TicketStatus.APPROVED.value,
        )
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )


# Each queue's figures (`queue_stats`) as gauges: field -> (metric, help).
QUEUE_GAUGES = {
    "depth": ("rolegate_queue_depth", "Jobs waiting in the RQ queue."),
    "oldest_age_seconds": (
        "rolegate_queue_oldest_job_age_seconds",
        "Age of the job waiting longest in the RQ queue; 0 if none.",
    ),
    "started": ("rolegate_queue_started_jobs", "Jobs of the queue running now."),
    "failed": (
        "rolegate_queue_failed_jobs",
        "Jobs in the queue's failed registry (kept a week for staff to look at).",
    ),
}


def _queues(connection, now: datetime) -> Iterator[GaugeMetricFamily]:
    stats = queue_stats(connection, now=now)
    families = {
        field: GaugeMetricFamily(name, text, labels=["queue"])
        for field, (name, text) in QUEUE_GAUGES.items()
    }
    for each in stats:
        for field, family in families.items():
            family.add_metric([each.name], getattr(each, field))
    yield from families.values()


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0
