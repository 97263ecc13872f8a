"""Benchmark: a worker's emails per second, against plain smtplib sending the same messages.

Setup, on the bench database (`BENCH_DATABASE`, dropped and rebuilt), a private `redis-server`
and a private SMTP server in a process of its own (harness/smtp_recorder.py, which logs and keeps
every message it accepts): the demo data (`acme` with its administrator, the vendor's staff),
and a live `flask --app service worker` subprocess, idle.

Each round's burst is recorded the way production records it, before the worker starts: a batch
adding `BURST` contacts is submitted and approved through the API, then applied in-process (the
apply job's own code), which records one welcome email per new account and the "implemented"
email, all of one ticket event; the bench holds them back (`next_attempt_at` in the future).
Per round, the bench makes the event's emails due, hands the worker the event's email job, and
polls the database until every one is `sent`: the worker's time covers taking the job, claiming
the emails, issuing each account's activation link, rendering, building each message, the SMTP
conversation, and recording them as sent.

The floor, measured in the same round against the same server: plain `smtplib` opens one
connection and sends the very bytes the worker sent (read back from the server), message by
message, with `sendmail`. The ratio is the worker's time over the floor's. Target: <= 2.

Run it with `python -m bench.email` (PostgreSQL running; Redis and SMTP are started here).
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from bench.common import bench_app
from harness.redis import RedisServer
from harness.smtp import free_port
from harness.smtp_recorder import SmtpRecorder
from harness.worker import FAST_PASSWORD_HASHING, Workers, kill_session, wait_for
from service import demo
from service.extensions import db
from service.jobs import _PENDING_KEY, Work, enqueue
from service.notifications.models import Email, EmailStatus
from service.organizations.models import Organization
from service.requests.apply import apply
from service.tickets.models import TicketEvent, parse_reference
from tests.factories import PASSWORD

SLUG = "acme"
BURST = 400
ROUNDS = 3
TARGET = 2.0
HELD_UNTIL = datetime(2999, 1, 1, tzinfo=UTC)


def seed(app: Flask) -> None:
    """The demo: the customer `acme` with its administrator, and the vendor's staff; acme's
    plan allows any number of contacts."""
    with app.app_context():
        demo.seed(session=db.session, password=PASSWORD)
        db.session.execute(
            update(Organization).where(Organization.slug == SLUG).values(seat_limit=None)
        )
        db.session.commit()


def headers(app: Flask, email: str) -> dict[str, str]:
    response = app.test_client().post(
        "/api/auth/token", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def burst(app: Flask, round_no: int, admin: dict[str, str], staff: dict[str, str]) -> int:
    """Record a burst of emails for one event the way an apply does, held back; the event."""
    client = app.test_client()
    version = client.get(f"/api/orgs/{SLUG}/contacts", headers=admin).get_json()["version"]
    changes = [
        {
            "op": "add_contact",
            "ref": f"n{i}",
            "contact": {
                "salutation": "Mx",
                "first_name": f"Reader{i}",
                "last_name": f"Round{round_no}",
                "email": f"reader{i:04d}.r{round_no}@acme.example",
            },
            "roles": ["technical"],
        }
        for i in range(BURST)
    ]
    response = client.post(
        f"/api/orgs/{SLUG}/change-requests",
        json={"base_version": version, "changes": changes},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    reference = response.get_json()["ticket"]["reference"]
    ticket_id = parse_reference(reference)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    with app.app_context():
        session = db.session()
        applied = apply(session=session, ticket_id=ticket_id)
        assert applied is not None
        # The emails' job is handed to the worker by the bench, when the clock runs.
        session.info.pop(_PENDING_KEY, None)
        session.commit()
        event_id = db.session.scalar(
            select(TicketEvent.id).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "implemented"
            )
        )
        assert event_id is not None
        # What the submission recorded is not part of the burst; the burst waits for its round.
        db.session.execute(
            update(Email)
            .where(Email.ticket_id == ticket_id, Email.event_id != event_id)
            .values(status=EmailStatus.SENT)
        )
        db.session.execute(
            update(Email).where(Email.event_id == event_id).values(next_attempt_at=HELD_UNTIL)
        )
        db.session.commit()
    return int(event_id)


def release(app: Flask, event_id: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Email).where(Email.event_id == event_id).values(next_attempt_at=None)
        )
        db.session.commit()


def pending_of(app: Flask, event_id: int) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(Email)
                .where(Email.event_id == event_id, Email.status == EmailStatus.PENDING)
            )
            or 0
        )


def floor(port: int, messages: list[dict[str, Any]], keep: Path) -> float:
    """Plain smtplib over one connection: the same bytes, to the same server."""
    payloads = [(m["from"], m["to"], (keep / f"{m['n']:08d}.eml").read_bytes()) for m in messages]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for sender, recipients, data in payloads:
            smtp.sendmail(sender, recipients, data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-email-") as folder:
        logs = Path(folder)
        keep = logs / "kept"
        app = bench_app(logs / "instance")
        redis = RedisServer(logs)
        smtp = SmtpRecorder(logs, keep=keep)
        redis.start()
        smtp.start()
        workers = Workers(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            redis_url=redis.url,
            logs=logs,
            settings={"BASE_URL": app.config["BASE_URL"], **FAST_PASSWORD_HASHING},
        )
        workers.smtp_port = smtp.port
        worker = None
        try:
            seed(app)
            admin = headers(app, "admin@acme.example")
            staff = headers(app, "staff@vendor.example")
            # Approvals find no Redis to hand the apply to: the bench applies here.
            app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
            events = [burst(app, n, admin, staff) for n in range(1, arguments.rounds + 1)]
            app.config["REDIS_URL"] = redis.url
            worker = workers.start_listening()
            results = []
            for round_no, event_id in enumerate(events, start=1):
                total = pending_of(app, event_id)
                already = len(smtp.messages())
                started = time.perf_counter()
                release(app, event_id)
                with app.app_context():
                    enqueue(Work("emails", event_id), redis.client())
                deadline = started + 600
                while pending_of(app, event_id):
                    assert time.perf_counter() < deadline, "the worker did not finish the burst"
                    time.sleep(0.005)
                worker_s = time.perf_counter() - started
                wait_for(
                    lambda: len(smtp.messages()) >= already + total,  # noqa: B023
                    timeout=30,
                    what="the server's log",
                )
                sent = smtp.messages()[already : already + total]
                connections = len({m["peer_port"] for m in sent})
                floor_s = floor(smtp.port, sent, keep)
                results.append((total, worker_s, floor_s, connections))
                print(
                    f"round {round_no}: {total} emails  worker {worker_s:6.2f} s "
                    f"({total / worker_s:6.1f}/s, {connections} SMTP connection(s))  "
                    f"floor {floor_s:6.2f} s ({total / floor_s:6.1f}/s)  "
                    f"ratio {worker_s / floor_s:4.2f}",
                    flush=True,
                )
            ratio = statistics.median(w / f for _, w, f, _ in results)
            rate = statistics.median(t / w for t, w, _, _ in results)
            floor_rate = statistics.median(t / f for t, _, f, _ in results)
            verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
            print(
                f"\nemails per second: worker {rate:.1f}, floor (plain smtplib, one connection) "
                f"{floor_rate:.1f}; median ratio {ratio:.2f} (target <= {TARGET}) {verdict}"
            )
        finally:
            if worker is not None:
                kill_session(worker)
            smtp.stop()
            redis.stop()
            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    main()
