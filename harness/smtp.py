"""A real SMTP server (aiosmtpd) on 127.0.0.1, and handlers that keep or drop what it receives."""

from __future__ import annotations

import email as email_parser
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import LoginPassword

HOST = "127.0.0.1"


@dataclass
class Inbox:
    """A handler that keeps what it receives and refuses the addresses it is told to."""

    port: int = 0
    envelopes: list[Any] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[bytes] = field(default_factory=list)
    # The client's (address, port) of each message: one per SMTP connection it came over.
    peers: list[Any] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if isinstance(session.auth_data, LoginPassword):
            self.logins.append(session.auth_data.login)
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [parse(envelope.content) for envelope in self.envelopes]


class DropEmails:
    """A handler that accepts every email and keeps none (a benchmark sends hundreds)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (as the system hands them out)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def parse(raw: bytes) -> EmailMessage:
    message = email_parser.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


@contextmanager
def smtp_server(handler: Any, *, port: int | None = None, **options: Any) -> Iterator[Controller]:
    """The server on `port` (a free one by default) until the block ends.

    `options` go to aiosmtpd's Controller (an authenticator, TLS requirements). An Inbox
    handler learns its port.
    """
    controller = Controller(
        handler,
        hostname=HOST,
        port=port or free_port(),
        server_hostname="smtp.rolegate.test",
        **options,
    )
    controller.start()
    if isinstance(handler, Inbox):
        handler.port = controller.port
    try:
        yield controller
    finally:
        controller.stop()
