"""Fair queues: one worker with a long apply queue still delivers email as it goes.

A real `flask --app service worker --burst` process is given ten approved tickets and the emails
their submissions recorded, all waiting in Redis at once. Served strictly apply-first, every
apply would run before the first email; served round robin, emails go out between the applies.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.notifications.models import Email, EmailStatus
from service.tickets.models import TicketEvent
from tests.tickets.support import STAFF, raise_ticket
from tests.workers.support import additions, make_org

pytestmark = pytest.mark.postgres_only

TICKETS = 10


def test_a_single_worker_delivers_email_between_applies_however_long_the_apply_queue(
    app, client, factory, smtp, workers
):
    workers.smtp_port = smtp.port
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    references = [
        raise_ticket(
            client, make_org(factory, f"fair{n}"), additions(f"fair{n}", 5), org=f"fair{n}"
        )
        for n in range(TICKETS)
    ]
    for reference in references:
        assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    workers.burst(timeout=180)

    implemented = sorted(
        at
        for (at,) in factory.all(select(TicketEvent.at).where(TicketEvent.action == "implemented"))
    )
    assert len(implemented) == TICKETS
    raised_sent = sorted(
        sent_at
        for (sent_at,) in factory.all(
            select(Email.sent_at).where(Email.template == "ticket_raised")
        )
    )
    assert raised_sent and all(raised_sent)
    # Most of the emails recorded before any apply went out before the applies were done.
    before_last_apply = [at for at in raised_sent if at < implemented[-1]]
    assert len(before_last_apply) >= len(raised_sent) // 2, (raised_sent, implemented)
    assert factory.all(select(Email.id).where(Email.status != EmailStatus.SENT)) == []
