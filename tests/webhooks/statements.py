"""Counting the SQL statements of one submission (then cancelling it, so another may follow)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from service.extensions import db
from tests.tickets.support import new_contact


def submission_statements(app: Flask, client: FlaskClient, headers: dict[str, str]) -> int:
    version = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["version"]
    body: dict[str, Any] = {"base_version": version, "changes": [new_contact()]}
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post("/api/orgs/acme/change-requests", json=body, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 201, response.get_json()
    reference = response.get_json()["ticket"]["reference"]
    assert (
        client.post(f"/api/tickets/{reference}/cancel", json={}, headers=headers).status_code == 200
    )
    return len(sent)
