"""Staff approving the same ticket at the same moment: exactly one approval wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from service.tickets.models import TicketEvent
from tests.live_server import live_server, request_json
from tests.tickets.support import REQUESTER, raise_ticket

REVIEWERS = 6


def test_simultaneous_approvals_by_different_staff_give_exactly_one_202(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    staff = [f"reviewer{i}@vendor.example" for i in range(REVIEWERS)]
    for email in staff:
        factory.staff(email)
    headers = [{"Authorization": f"Bearer {factory.token(email)}"} for email in staff]
    start = threading.Barrier(REVIEWERS)

    def approve(i: int) -> tuple[int, dict]:
        start.wait()
        return request_json("POST", f"{base}/api/tickets/{reference}/approve", {}, headers[i])

    with live_server(app) as base, ThreadPoolExecutor(REVIEWERS) as pool:
        results = list(pool.map(approve, range(REVIEWERS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [202] + [409] * (REVIEWERS - 1), results
    assert {body["code"] for status, body in results if status == 409} == {"invalid_transition"}
    approvals = factory.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "approved")
    )
    assert approvals == 1
