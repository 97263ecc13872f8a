"""A real worker started with `CLOCK_OFFSET` works three days ahead (service/clock.py): what
tests and demonstrations of time-driven work rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.extensions import db
from service.tickets.models import TicketEvent
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

pytestmark = pytest.mark.postgres_only


def test_a_worker_with_a_moved_clock_records_its_work_at_the_moved_time(
    app, client, factory, smtp, workers
):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    response = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    assert response.status_code == 202
    workers.smtp_port = smtp.port
    workers.settings["CLOCK_OFFSET"] = "3d"
    workers.burst(timeout=180)
    with app.app_context():
        done = db.session.scalar(select(TicketEvent.at).where(TicketEvent.action == "implemented"))
    ahead = done - datetime.now(UTC)
    assert timedelta(days=3) - timedelta(minutes=5) < ahead <= timedelta(days=3)
