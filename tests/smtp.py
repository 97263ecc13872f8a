"""The test app pointed at a real SMTP server on 127.0.0.1 (`harness.smtp`), for one test, and
the parts of the messages it received."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
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


def parts(message: EmailMessage) -> tuple[str, str]:
    """A received message's plain-text and HTML parts (every email has both)."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, message["Subject"]
    return text.get_content(), html.get_content()
