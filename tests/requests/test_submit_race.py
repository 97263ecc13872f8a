"""Simultaneous submissions for one organization: the database lets exactly one through."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from service.requests.models import ChangeRequest
from service.tickets.models import Ticket
from tests.live_server import live_server, request_json
from tests.tickets.support import new_contact

CLIENTS = 8


def test_eight_simultaneous_valid_submissions_give_exactly_one_201(app, factory):
    factory.demo()
    token = factory.token("admin@acme.example")
    headers = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(CLIENTS)

    def submit(i: int) -> tuple[int, dict]:
        body = {
            "base_version": 1,
            "changes": [new_contact("n1", f"racer{i}@acme.example", name=("Racer", f"Number{i}"))],
        }
        start.wait()
        return request_json("POST", f"{base}/api/orgs/acme/change-requests", body, headers)

    with live_server(app) as base, ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(submit, range(CLIENTS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CLIENTS - 1), results
    assert {body["code"] for status, body in results if status == 409} == {"request_pending"}
    assert factory.scalar(select(func.count()).select_from(Ticket)) == 1
    # The losers stored nothing either: no orphan change request without a ticket.
    assert factory.scalar(select(func.count()).select_from(ChangeRequest)) == 1
