"""A real webhook receiver on a local port (a thread running `http.server`), and helpers to
register endpoints and run deliveries."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from standardwebhooks import Webhook

from service.extensions import db
from service.models_base import utcnow
from service.webhooks.models import DeliveryStatus, WebhookDelivery
from service.webhooks.tasks import deliver_webhook
from tests.jobs import run_jobs
from tests.tickets.support import STAFF


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class Receiver:
    """Records every POST it gets and answers `status` (set it to 503 for an outage)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 204
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.payload["type"] == event_type]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, received: Received) -> dict[str, Any]:
    """The payload, once the signature checks out by the Standard Webhooks reference code."""
    verified: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return verified


def register(
    client: FlaskClient, factory: Any, url: str, events: list[str], **more: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/webhooks", json={"url": url, "events": events, **more}, headers=factory.headers(STAFF)
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def deliver(app: Flask) -> None:
    """Run the queued delivery jobs (on the SQLite pass they ran after their commit already)."""
    run_jobs(app)


def move_time_forward(app: Flask) -> None:
    """Every pending delivery's backoff is over (as if its next attempt time had come)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            .values(next_attempt_at=utcnow())
        )
        db.session.commit()


def attempt_pending(app: Flask) -> list[str]:
    """One attempt at every due delivery, as the sweep's jobs make them; their outcomes."""
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
                .order_by(WebhookDelivery.id)
            )
        )
        db.session.remove()
        return [deliver_webhook(delivery_id) for delivery_id in ids]


def deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        found = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        return found
