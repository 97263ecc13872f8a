"""The worker on the default database: SQLite, with `REDIS_URL` set, while the web app writes.

A real `flask --app service worker` process and a web app served over HTTP share one SQLite
file and a private Redis. SQLite has one writer at a time: whoever keeps a transaction open
while it talks to SMTP or Redis stops every other writer. The test holds the worker in the
middle of an SMTP conversation and has the web app write meanwhile, then lets everything
finish: every ticket applied, every email sent, no request refused.

It needs no PostgreSQL, so it runs in both passes of `make test`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from harness.smtp import Inbox, free_port
from harness.worker import wait_for
from service import create_app
from service.config import TestConfig as SuiteConfig
from service.demo import seed
from service.extensions import db
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket, TicketStatus
from tests.factories import PASSWORD
from tests.live_server import live_server, request_json
from tests.tickets.support import REQUESTER, STAFF, new_contact


class HeldInbox(Inbox):
    """An SMTP server that, while `held`, keeps each message's DATA waiting until released."""

    def __init__(self) -> None:
        super().__init__()
        self.held = True
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.held:
            self.entered.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held_smtp() -> Iterator[HeldInbox]:
    inbox = HeldInbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.rolegate.test"
    )
    controller.start()
    inbox.port = controller.port
    yield inbox
    inbox.release.set()
    controller.stop()


@pytest.fixture
def sqlite_app(app, tmp_path: Path, private_redis) -> Iterator[Flask]:
    """The web app on a SQLite file of its own, migrated and with the demo, on the test's Redis."""
    config = SuiteConfig(tmp_path)
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'rolegate.sqlite'}"
    config.REDIS_URL = private_redis.url
    config.BASE_URL = app.config["BASE_URL"]
    web = create_app(config)
    with web.app_context():
        upgrade()
        seed(session=db.session, password=PASSWORD)
        db.session.commit()
    yield web
    with web.app_context():
        db.engine.dispose()


def token(base: str, email: str) -> dict[str, str]:
    status, body = request_json(
        "POST", f"{base}/api/auth/token", {"email": email, "password": PASSWORD}
    )
    assert status == 200, body
    return {"Authorization": f"Bearer {body['token']}"}


def submit(base: str, admin: dict[str, str], changes: list[dict[str, Any]]) -> str:
    status, roster = request_json("GET", f"{base}/api/orgs/acme/contacts", headers=admin)
    assert status == 200, roster
    status, body = request_json(
        "POST",
        f"{base}/api/orgs/acme/change-requests",
        {"base_version": roster["version"], "changes": changes},
        admin,
    )
    assert status == 201, body
    reference: str = body["ticket"]["reference"]
    return reference


def ticket_id(reference: str) -> int:
    return int(reference.split("-")[1])


def scalar(web: Flask, statement: Any) -> Any:
    with web.app_context():
        return db.session.scalar(statement)


def test_the_worker_applies_and_sends_on_sqlite_while_the_web_app_writes(
    sqlite_app, workers, private_redis, held_smtp
):
    web = sqlite_app
    workers.database_url = web.config["SQLALCHEMY_DATABASE_URI"]
    workers.redis_url = private_redis.url
    workers.smtp_port = held_smtp.port
    with live_server(web) as base:
        admin, staff = token(base, REQUESTER), token(base, STAFF)
        first = submit(base, admin, [new_contact()])
        worker = workers.start()
        # The worker is now inside an SMTP conversation (the ticket's "raised" emails).
        assert held_smtp.entered.wait(60), "the worker never reached the SMTP server"

        # Meanwhile the web app writes: an approval (and the emails it records), comments.
        status, body = request_json("POST", f"{base}/api/tickets/{first}/approve", None, staff)
        assert status == 202, body
        for n in range(5):
            status, body = request_json(
                "POST",
                f"{base}/api/tickets/{first}/comments",
                {"body": f"Note {n} while the worker talks to SMTP", "internal": True},
                staff,
            )
            assert status == 201, body

        held_smtp.held = False
        held_smtp.release.set()
        wait_for(
            lambda: (
                scalar(web, select(Ticket.status).where(Ticket.id == ticket_id(first)))
                == TicketStatus.IMPLEMENTED
            ),
            timeout=60,
            what="the approved ticket to be applied",
            log=worker,
        )
        # A second request, raised and approved while the worker runs, goes through as well.
        second = submit(base, admin, [new_contact("n2", "otto.other@acme.example")])
        status, body = request_json("POST", f"{base}/api/tickets/{second}/approve", None, staff)
        assert status == 202, body
        wait_for(
            lambda: (
                scalar(
                    web,
                    select(func.count())
                    .select_from(Ticket)
                    .where(Ticket.status == TicketStatus.IMPLEMENTED),
                )
                == 2
                and scalar(
                    web,
                    select(func.count())
                    .select_from(Email)
                    .where(Email.status == EmailStatus.PENDING),
                )
                == 0
            ),
            timeout=90,
            what="both tickets applied and every email sent",
            log=worker,
        )
        workers.stop(worker)
    log = worker.log.read_text()  # type: ignore[attr-defined]
    assert "database is locked" not in log, log[-3000:]
    sent = scalar(
        web, select(func.count()).select_from(Email).where(Email.status == EmailStatus.SENT)
    )
    assert sent == len(held_smtp.envelopes) > 0
