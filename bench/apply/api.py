"""Submitting and approving through the real API, so that the measured ticket is `approved`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from redis import Redis
from sqlalchemy import Engine, func, select

from bench.apply.roster import Seeded, contacts_t, load_roster
from bench.apply.settings import PASSWORD, REDIS_URL, SLUG
from service.contacts.models import ContactStatus
from service.tickets.models import Ticket, TicketStatus, parse_reference


@dataclass
class Bench:
    app: Flask
    engine: Engine
    seeded: Seeded
    redis: Redis
    admin: dict[str, str]
    staff: list[dict[str, str]]
    rounds: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    @contextmanager
    def with_redis(self) -> Iterator[None]:
        """The app enqueues its jobs in the private Redis instead of running them here."""
        self.app.config["REDIS_URL"] = REDIS_URL
        try:
            yield
        finally:
            self.app.config["REDIS_URL"] = None

    def submit(self, changes: list[dict[str, Any]]) -> tuple[int, str]:
        """Submit through the API as the organization's administrator: (ticket id, reference)."""
        version = load_roster(self.engine, self.seeded).version
        response = self.app.test_client().post(
            f"/api/orgs/{SLUG}/change-requests",
            json={"base_version": version, "changes": changes},
            headers=self.admin,
        )
        assert response.status_code == 201, response.get_json()
        reference = response.get_json()["ticket"]["reference"]
        ticket_id = parse_reference(reference)
        assert ticket_id is not None, reference
        return ticket_id, reference

    def approvals_required(self, ticket_id: int) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(Ticket.approvals_required).where(Ticket.id == ticket_id)
                ).scalar_one()
            )

    def approve(self, reference: str, staff: int) -> int:
        response = self.app.test_client().post(
            f"/api/tickets/{reference}/approve", headers=self.staff[staff]
        )
        assert response.status_code in (200, 202), response.get_json()
        return response.status_code

    def prepare(self, changes: list[dict[str, Any]]) -> int:
        """Submit and approve (jobs go to Redis and are dropped): an `approved` ticket's id."""
        with self.with_redis():
            ticket_id, reference = self.submit(changes)
            for staff in range(self.approvals_required(ticket_id)):
                self.approve(reference, staff)
        self.redis.flushdb()
        assert self.status(ticket_id) == TicketStatus.APPROVED
        return ticket_id

    def status(self, ticket_id: int) -> TicketStatus:
        with self.engine.connect() as connection:
            return TicketStatus(
                connection.execute(select(Ticket.status).where(Ticket.id == ticket_id)).scalar_one()
            )

    def active_count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(contacts_t)
                    .where(
                        contacts_t.c.organization_id == self.seeded.org_id,
                        contacts_t.c.status == ContactStatus.ACTIVE,
                    )
                ).scalar_one()
            )


def sign_in(app: Flask, email: str) -> dict[str, str]:
    response = app.test_client().post(
        "/api/auth/token", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
