"""`GET /metrics`: who may read it, and what it says after real traffic, read with
prometheus_client's own parser."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from sqlalchemy import event

from service.extensions import db
from service.jobs import APPLY_QUEUE
from tests.conftest import ON_POSTGRES
from tests.jobs import run_jobs
from tests.ops.support import METRICS_TOKEN, parse_metrics, sample, scrape
from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.web.forms import sign_in


@pytest.fixture(autouse=True)
def metrics_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_NETWORKS", ())


def test_metrics_refuse_a_request_without_the_token_with_401(client):
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic x"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert set(refused.get_json()) == {"code", "message", "errors"}
        assert b"rolegate_" not in refused.data


def test_metrics_refuse_signed_in_accounts_with_403(client, factory):
    """No role of any account opens the metrics: staff and customers alike are refused."""
    factory.demo()
    for email in (STAFF, REQUESTER):
        refused = client.get("/metrics", headers=factory.headers(email))
        assert refused.status_code == 403, email
        assert refused.get_json()["code"] == "forbidden"
    assert sign_in(client, STAFF).status_code == 302
    assert client.get("/metrics").status_code == 403


def test_metrics_open_to_an_allowed_address_only(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_NETWORKS", (ip_network("10.20.0.0/16"),))
    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert inside.status_code == 200
    assert "rolegate_http_requests_total" in inside.get_data(as_text=True)
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.21.3.4"})
    assert outside.status_code == 401


def test_requests_are_counted_by_route_template_method_and_status(client, factory):
    factory.demo()
    admin = factory.headers(REQUESTER)
    before = scrape(client)
    for _ in range(2):
        assert client.get("/api/roles", headers=admin).status_code == 200
    assert client.get("/api/tickets/CR-424242", headers=admin).status_code == 404
    assert client.get("/no/such/page/12345").status_code == 404
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("rolegate_http_requests_total", route="/api/roles", method="GET", status="200") == 2
    assert (
        grew(
            "rolegate_http_requests_total",
            route="/api/tickets/<reference>",
            method="GET",
            status="404",
        )
        == 1
    )
    # Unknown URLs share one series, whatever the path: a scan cannot blow up the label set.
    assert (
        grew("rolegate_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    )
    assert not any("12345" in str(labels) for _, labels in after)
    assert (
        grew("rolegate_http_request_duration_seconds_count", route="/api/roles", method="GET") == 2
    )
    assert grew(
        "rolegate_http_request_duration_seconds_bucket", route="/api/roles", method="GET", le="+Inf"
    ) == (2)


def test_tickets_emails_and_queues_are_read_from_the_database_and_redis(app, client, factory):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    waiting = scrape(client)
    assert sample(waiting, "rolegate_tickets", status="open") == 1
    assert sample(waiting, "rolegate_tickets", status="implemented") == 0
    assert sample(waiting, "rolegate_ticket_oldest_age_seconds", waiting="open") >= 0
    assert sample(waiting, "rolegate_dependency_up", dependency="database") == 1

    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    approved = scrape(client)
    if ON_POSTGRES:
        # The apply waits in Redis for a worker: the queue and the ticket say so.
        assert sample(approved, "rolegate_tickets", status="approved") == 1
        assert sample(approved, "rolegate_queue_depth", queue=APPLY_QUEUE) == 1
        assert sample(approved, "rolegate_queue_oldest_job_age_seconds", queue=APPLY_QUEUE) > 0
        assert sample(approved, "rolegate_ticket_oldest_age_seconds", waiting="approved") > 0
        assert sample(approved, "rolegate_emails_pending") >= 1
        assert sample(approved, "rolegate_dependency_up", dependency="queue") == 1
        run_jobs(app)
    done = scrape(client)
    assert sample(done, "rolegate_tickets", status="implemented") == 1
    assert sample(done, "rolegate_tickets", status="approved") == 0
    assert sample(done, "rolegate_ticket_oldest_age_seconds", waiting="approved") == 0
    assert sample(done, "rolegate_ticket_oldest_age_seconds", waiting="open") == 0
    assert sample(done, "rolegate_emails_pending") == 0
    assert sample(done, "rolegate_queue_depth", queue=APPLY_QUEUE) == 0


def test_a_scrape_reads_a_fixed_number_of_statements_whatever_the_ticket_count(
    app, client, factory
):
    """Counts come from the maintained counters: more tickets, not more reads."""
    factory.demo()

    def statements() -> int:
        seen: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            scrape(client)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert not any("count(" in s.lower() and "from tickets" in s.lower() for s in seen)
        return len(seen)

    few = statements()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    for _ in range(3):
        reference = raise_ticket(client, admin)
        client.post(f"/api/tickets/{reference}/reject", headers=staff, json={"reason": "no"})
    assert statements() == few


def test_the_metrics_page_is_prometheus_text_that_its_parser_reads(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = parse_metrics(response.get_data(as_text=True))
    assert ("rolegate_dependency_up", frozenset({("dependency", "database")})) in samples


def test_rate_limit_refusals_are_counted_by_route(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0)
    before = scrape(client)
    statuses = [
        client.post("/api/password-reset", json={"email": "someone@acme.example"}).status_code
        for _ in range(7)
    ]
    assert statuses.count(429) >= 1
    after = scrape(client)
    route = "/api/password-reset"
    refused = sample(after, "rolegate_rate_limit_refusals_total", route=route) - sample(
        before, "rolegate_rate_limit_refusals_total", route=route
    )
    assert refused == statuses.count(429)
