"""Jobs carry the request id that caused them, write one line each, are counted, and leave no
personal data in the logs or in Redis when they fail."""

from __future__ import annotations

import zlib

import pytest
from redis import Redis

from service.extensions import redis_connection
from service.jobs import resend_pending
from tests.conftest import ON_POSTGRES
from tests.jobs import run_jobs
from tests.ops.support import METRICS_TOKEN, captured_logs, sample, scrape
from tests.tickets.support import REQUESTER, STAFF, new_contact, raise_ticket

APPROVAL_ID = "a11ce0000000000000000000000000ff"


def job_lines(captured, **where) -> list[dict]:
    return [
        line
        for line in captured.lines()
        if line["logger"] == "rolegate.job" and all(line.get(k) == v for k, v in where.items())
    ]


def test_one_request_id_finds_an_approval_its_apply_and_its_emails(app, client, factory):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    run_jobs(app)  # the submission's own emails
    with captured_logs() as captured:
        approved = client.post(
            f"/api/tickets/{reference}/approve",
            headers={**staff, "X-Request-ID": APPROVAL_ID},
        )
        assert approved.status_code == 202
        assert approved.headers["X-Request-ID"] == APPROVAL_ID
        run_jobs(app)
    traced = [line for line in captured.lines() if line["request_id"] == APPROVAL_ID]
    loggers = [line["logger"] for line in traced]
    assert "rolegate.request" in loggers
    (applied,) = [line for line in traced if line.get("kind") == "apply"]
    assert applied["outcome"] == "done" and applied["job_id"].startswith("apply-")
    # The requester, the new contact's welcome and the review queue hear about it: the emails of
    # the `implemented` event, in one job.
    emails = [line for line in traced if line.get("kind") == "emails"]
    assert len(emails) == 1 and emails[0]["outcome"] == "sent"
    # Nothing of the approval ran under another id.
    assert job_lines(captured) == [line for line in traced if line["logger"] == "rolegate.job"]


def test_jobs_are_counted_by_kind_and_outcome(app, client, factory, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", METRICS_TOKEN)
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    run_jobs(app)
    before = scrape(client)
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    run_jobs(app)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("rolegate_jobs_total", kind="apply", outcome="done") == 1
    assert grew("rolegate_job_duration_seconds_count", kind="apply") == 1
    assert grew("rolegate_jobs_total", kind="emails", outcome="sent") == 1
    assert grew("rolegate_emails_total", outcome="sent") >= 3


def _redis_dump(connection: Redis) -> bytes:
    """Every key of the database with its whole value, whatever its type; RQ compresses some
    values (a job's data, a result's error) with zlib, so those are read uncompressed."""
    parts: list[bytes] = []
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(connection.get(key) or b"")
        elif kind == b"hash":
            parts.extend(v for pair in connection.hgetall(key).items() for v in pair)
        elif kind == b"list":
            parts.extend(connection.lrange(key, 0, -1))
        elif kind == b"set":
            parts.extend(connection.smembers(key))
        elif kind == b"zset":
            parts.extend(member for member, _ in connection.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            for _, fields in connection.xrange(key):
                parts.extend(v for pair in fields.items() for v in pair)
    return b"\n".join(_uncompressed(part) for part in parts)


def _uncompressed(value: bytes) -> bytes:
    try:
        return zlib.decompress(value)
    except zlib.error:
        return value


def test_a_failed_delivery_leaves_no_personal_data_in_the_logs_or_redis(
    app, client, factory, start_smtp
):
    """SMTP's refusal names the address; neither the logs nor Redis may keep it."""
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    address = "quintessa.ozymandias@acme.example"
    inbox = start_smtp()
    inbox.refuse[address] = "451 4.3.0 <quintessa.ozymandias@acme.example> try again later"
    reference = raise_ticket(client, admin, [new_contact(email=address)])
    with captured_logs() as captured, captured_logs("text") as readable:
        client.post(f"/api/tickets/{reference}/approve", headers=staff)
        run_jobs(app)
    # The attempt failed (recorded with the email, which waits for its backoff); the job's line
    # says so, without the address the server's refusal quoted.
    failed = job_lines(captured, kind="emails", outcome="partly sent")
    assert failed, "the welcome email's delivery should have failed"
    for written in (captured.text, readable.text):
        assert "quintessa" not in written.lower()
    if ON_POSTGRES:
        with app.app_context():
            stored = _redis_dump(redis_connection())
        assert b"rq:job:emails-" in stored
        assert b"quintessa" not in stored.lower()


@pytest.mark.postgres_only
def test_a_job_sent_again_keeps_the_request_id_and_counts_as_a_retry(
    app, client, factory, monkeypatch
):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", METRICS_TOKEN)
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    run_jobs(app)
    client.post(f"/api/tickets/{reference}/approve", headers={**staff, "X-Request-ID": APPROVAL_ID})
    before = scrape(client)
    with app.app_context():
        connection = redis_connection()
        (key,) = connection.scan_iter("rq:job:apply-*")
        # As RQ leaves a job whose run failed, or whose worker died: failed, out of the queue.
        connection.hset(key, "status", "failed")
        connection.delete("rq:queue:apply")
        assert resend_pending() >= 1
    with captured_logs() as captured:
        run_jobs(app)
    after = scrape(client)
    (applied,) = job_lines(captured, kind="apply")
    assert applied["request_id"] == APPROVAL_ID and applied["outcome"] == "done"
    for name in ("rolegate_job_retries_total", "rolegate_relay_resent_jobs_total"):
        assert sample(after, name, kind="apply") - sample(before, name, kind="apply") == 1
