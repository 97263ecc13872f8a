"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, and the app pointed at it."""

from __future__ import annotations

import email as email_parser
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import LoginPassword


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses it is told to."""

    port: int = 0
    envelopes: list[Any] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[bytes] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if isinstance(session.auth_data, LoginPassword):
            self.logins.append(session.auth_data.login)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [parse(envelope.content) for envelope in self.envelopes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse(raw: bytes) -> EmailMessage:
    message = email_parser.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture
def start_smtp(app, monkeypatch) -> Iterator[Any]:
    """Start a real SMTP server and point the app's SMTP settings at it (restored after)."""
    controllers: list[Controller] = []

    def start(**smtp_options: Any) -> Inbox:
        inbox = Inbox()
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=free_port(),
            server_hostname="smtp.rolegate.test",
            **smtp_options,
        )
        controller.start()
        controllers.append(controller)
        inbox.port = controller.port
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
        monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
        monkeypatch.setitem(app.config, "SMTP_USERNAME", None)
        monkeypatch.setitem(app.config, "SMTP_PASSWORD", None)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp(start_smtp) -> Inbox:
    inbox: Inbox = start_smtp()
    return inbox
