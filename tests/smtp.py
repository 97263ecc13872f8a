"""The test app pointed at a real SMTP server on 127.0.0.1 (`harness.smtp`), for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from harness.smtp import Inbox, smtp_server


@pytest.fixture
def start_smtp(app, monkeypatch) -> Iterator[Any]:
    """Start a real SMTP server and point the app's SMTP settings at it (restored after)."""
    with ExitStack() as servers:

        def start(**smtp_options: Any) -> Inbox:
            inbox = Inbox()
            servers.enter_context(smtp_server(inbox, **smtp_options))
            monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
            monkeypatch.setitem(app.config, "SMTP_PORT", inbox.port)
            monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
            monkeypatch.setitem(app.config, "SMTP_USERNAME", None)
            monkeypatch.setitem(app.config, "SMTP_PASSWORD", None)
            return inbox

        yield start


@pytest.fixture
def smtp(start_smtp) -> Inbox:
    inbox: Inbox = start_smtp()
    return inbox
