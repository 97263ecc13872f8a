"""Driving the pages' forms with Flask's test client: the CSRF token, and signing in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.factories import PASSWORD


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_path: str = ""):
    token = csrf_token(client)
    form = {"email": email, "password": password, "next": next_path, "csrf_token": token}
    return client.post("/login", data=form)
