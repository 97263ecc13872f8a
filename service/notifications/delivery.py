"""Delivering recorded emails: claimed, rendered, sent over one SMTP connection, recorded each.

An attempt at an email goes through four steps, each of the database ones committed by the job
(`service/notifications/tasks.py`) before the next starts:

1. `claim`: the attempt is counted (`attempts + 1`) and the email is held for
   `CLAIM_SECONDS` (`next_attempt_at`), before any SMTP conversation: no other worker attempts
   it meanwhile, so at most one attempt is in flight, and a worker that dies mid-attempt leaves
   an attempt counted and the email free again once the claim runs out.
2. `prepare`: the claimed emails are rendered, account emails with a freshly issued link. One
   that cannot be rendered is failed for good (a retry would fail the same way); any other
   error in rendering counts as a failed attempt of that email.
3. `Mailer.send`: the message goes out, over an SMTP connection kept open for the whole burst
   (or into the instance outbox without `SMTP_HOST`).
4. `record_sent`, or `record_failure`: a failed attempt waits for `BACKOFF_SECONDS`; after
   `MAX_EMAIL_ATTEMPTS` attempts the email is `failed`, counted and shown to staff.

Every message carries a stable `Message-ID` (`<created.email-<id>@domain>`), so that the one
window left for a duplicate, the server accepted the message and the commit that records it was
lost, gives a copy that mail clients fold into the first.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, String, and_, case, cast, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.accounts import tokens
from service.models_base import utcnow
from service.notifications.models import Email, EmailStatus
from service.notifications.render import (
    ACCOUNT_TEMPLATES,
    Rendered,
    Renderer,
    RenderError,
    account_owner,
)
from service.sql import column_in, update_in

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10
# After this many attempts an email is given up on and marked failed.
MAX_EMAIL_ATTEMPTS = 8
# How long a claimed email is held for its attempt. A burst sends no more of a claim once
# `SEND_WINDOW_SECONDS` have passed since it (the rest is released and claimed again), so that
# the send in progress then, bounded by the SMTP timeouts, ends well inside the claim.
CLAIM_SECONDS = 60
SEND_WINDOW_SECONDS = 15
CLAIM_SIZE = 100
# Wait after the n-th failed attempt (the last one repeats).
BACKOFF_SECONDS = (30, 60, 120, 300, 600, 1800, 3600)
# An SMTP connection idle for longer than this is not reused: the server may have dropped it.
REUSE_SECONDS = 5.0


@dataclass(frozen=True)
class Selection:
    """The emails one delivery job looks at: those of a ticket event, or a single one."""

    event_id: int | None = None
    email_id: int | None = None

    def where(self) -> ColumnElement[bool]:
        if self.event_id is not None:
            return Email.event_id == self.event_id
        return Email.id == self.email_id


@dataclass(frozen=True)
class Outgoing:
    """A rendered email ready for the wire: plain values, so sending needs no database."""

    email_id: int
    recipient: str
    template: str
    data: bytes


class SendFailed(Exception):
    """The message was not accepted; `reason` holds no personal data, `permanent` means a retry
    would fail the same way."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def due(now: datetime) -> ColumnElement[bool]:
    """Pending emails that nobody is attempting and whose backoff, if any, is over."""
    return and_(
        Email.status == EmailStatus.PENDING,
        Email.recipient.is_not(None),
        or_(Email.next_attempt_at.is_(None), Email.next_attempt_at <= now),
    )


def claim(*, session: Session, selection: Selection, limit: int = CLAIM_SIZE) -> list[int]:
    """Start an attempt at up to `limit` due emails of the selection: count it and hold them
    for `CLAIM_SECONDS`. Their ids, oldest first.

    On PostgreSQL the rows are locked with SKIP LOCKED: two workers given the same emails claim
    different ones (SQLite has one writer at a time).
    """
    now = utcnow()
    chosen = (
        select(Email.id)
        .where(selection.where(), due(now))
        .order_by(Email.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.scalars(
        update(Email)
        .where(Email.id.in_(chosen.scalar_subquery()))
        .values(attempts=Email.attempts + 1, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(Email.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


@dataclass(frozen=True)
class Prepared:
    """The messages ready to send, and how many emails preparing them gave up on."""

    outgoing: list[Outgoing]
    gave_up: int


def prepare(*, session: Session, email_ids: Sequence[int]) -> Prepared:
    """Render the claimed emails into messages; account emails get a fresh link each.

    An email that cannot be rendered is failed for good; any other error while preparing one
    counts as its failed attempt. A database error is not the email's fault: it is raised,
    and the job records it as the failed attempt of the whole claim (`record_failure`).
    """
    emails = list(
        session.scalars(
            select(Email)
            .where(column_in(session, Email.id, email_ids), Email.status == EmailStatus.PENDING)
            .order_by(Email.id)
        )
    )
    renderer = Renderer(session)
    renderer.preload(emails)
    links, unlinkable = account_links(session=session, emails=emails)
    outgoing = []
    for email in emails:
        try:
            if email.id in unlinkable:
                raise unlinkable[email.id]
            rendered = renderer.render(email, link=links.get(email.id))
            outgoing.append(
                Outgoing(email.id, str(email.recipient), email.template, message(email, rendered))
            )
        except SQLAlchemyError:
            raise
        except RenderError as exc:
            _give_up(email, f"RenderError {exc.code}")
        except Exception as exc:
            log.exception("email %s could not be prepared", email.id)
            _fail_attempt(email, type(exc).__name__)
    session.flush()
    gave_up = sum(1 for email in emails if email.status == EmailStatus.FAILED)
    return Prepared(outgoing, gave_up)


def account_links(
    *, session: Session, emails: Sequence[Email]
) -> tuple[dict[int, str], dict[int, RenderError]]:
    """The link each account email carries, issued now (a fresh token voids the older ones, and
    only its digest is stored), and why an account email may not have one."""
    owners: dict[int, tuple[int, Any]] = {}
    refused: dict[int, RenderError] = {}
    for email in emails:
        if email.template not in ACCOUNT_TEMPLATES:
            continue
        try:
            user = account_owner(session, email)
        except RenderError as exc:
            refused[email.id] = exc
            continue
        owners[email.id] = (user.id, ACCOUNT_TEMPLATES[email.template][0])
    issued = tokens.issue_many(session=session, wanted=owners.values())
    base = current_app.config["BASE_URL"]
    links = {}
    for email in emails:
        if email.id in owners:
            path = ACCOUNT_TEMPLATES[email.template][1]
            links[email.id] = f"{base}/{path}/{issued[owners[email.id]]}"
    return links, refused


def account_link(*, session: Session, email: Email) -> str | None:
    """The link of one account email (see `account_links`); None for emails about tickets."""
    if email.template not in ACCOUNT_TEMPLATES:
        return None
    links, refused = account_links(session=session, emails=[email])
    if email.id in refused:
        raise refused[email.id]
    return links[email.id]


def message(email: Email, rendered: Rendered) -> bytes:
    """The email as it goes on the wire: text and HTML alternatives, UTF-8 in base64, CRLF.

    Written directly rather than through `email.message`, whose header folding costs more than
    the SMTP conversation itself in a burst (bench/email.py); the standard library still
    encodes any header that is not short plain ASCII.
    """
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rpartition("@")[2].strip(" >") or "rolegate.invalid"
    boundary = f"=_rolegate_{secrets.token_hex(12)}"
    headers = [
        _address("From", sender),
        _address("To", str(email.recipient)),
        _header("Subject", rendered.subject),
        _header("Date", format_datetime(utcnow())),
        _header("Message-ID", message_id(email, domain)),
    ]
    if email.ticket_id is not None:
        # Mail clients thread every email of one ticket together.
        headers.append(_header("References", f"<ticket-{email.ticket_id}@{domain}>"))
    headers += [
        # RFC 3834: automatic replies (out of office) should not answer this.
        _header("Auto-Submitted", "auto-generated"),
        _header("MIME-Version", "1.0"),
        _header("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    delimiter = f"--{boundary}\r\n".encode()
    return b"".join(
        [
            *headers,
            b"\r\n",
            delimiter,
            _text_part("plain", rendered.text),
            delimiter,
            _text_part("html", rendered.html),
            f"--{boundary}--\r\n".encode(),
        ]
    )


def _header(name: str, value: str) -> bytes:
    """One header field: as it is when short plain ASCII, else encoded and folded (RFC 2047)."""
    _refuse_line_breaks(value)
    if value.isascii() and len(name) + len(value) < 77:
        return f"{name}: {value}\r\n".encode("ascii")
    charset = None if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def _address(name: str, address: str) -> bytes:
    """An address field, never encoded (an encoded word is no address); UTF-8 as RFC 6532 has
    it when the address is not ASCII (the envelope then asks for SMTPUTF8)."""
    _refuse_line_breaks(address)
    return f"{name}: {address}\r\n".encode()


def _text_part(subtype: str, content: str) -> bytes:
    encoded = base64.encodebytes(content.encode("utf-8")).replace(b"\n", b"\r\n")
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64'
    return head.encode() + b"\r\n\r\n" + encoded


def _refuse_line_breaks(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value may not hold a line break")


def message_id(email: Email, domain: str) -> str:
    """The same for every attempt at this email; unique by its id and when it was recorded."""
    recorded = email.created_at.strftime("%Y%m%d%H%M%S") if email.created_at else "0"
    return f"<{recorded}.email-{email.id}@{domain}>"


def record_sent(*, session: Session, email_ids: Sequence[int]) -> None:
    """The server accepted these emails (those a purge erased meanwhile stay erased)."""
    update_in(
        session,
        Email.id,
        email_ids,
        Email.status == EmailStatus.PENDING,
        status=EmailStatus.SENT,
        sent_at=utcnow(),
        last_error=None,
        next_attempt_at=None,
    )


def record_failure(
    *, session: Session, email_ids: Sequence[int], reason: str, permanent: bool = False
) -> int:
    """The attempt failed: try again after the backoff, or give up when it was the last one
    allowed, or at once when `permanent` (the server refused for good). `reason` holds no
    personal data. How many were given up on."""
    if not email_ids:
        return 0
    chosen = and_(column_in(session, Email.id, email_ids), Email.status == EmailStatus.PENDING)
    if permanent:
        values: dict[str, Any] = {
            "status": EmailStatus.FAILED,
            "last_error": f"refused: {reason}"[:500],
            "next_attempt_at": None,
        }
    else:
        now = utcnow()
        last = Email.attempts >= MAX_EMAIL_ATTEMPTS
        backoff = case(
            *(
                (Email.attempts == n, now + timedelta(seconds=seconds))
                for n, seconds in enumerate(BACKOFF_SECONDS, start=1)
            ),
            else_=now + timedelta(seconds=BACKOFF_SECONDS[-1]),
        )
        values = {
            "status": case((last, EmailStatus.FAILED), else_=EmailStatus.PENDING),
            "last_error": case(
                (
                    last,
                    literal("gave up after ")
                    + cast(Email.attempts, String)
                    + literal(f" attempts: {reason}"[:450]),
                ),
                else_=reason[:500],
            ),
            "next_attempt_at": case((last, None), else_=backoff),
        }
    statuses = session.scalars(
        update(Email)
        .where(chosen)
        .values(**values)
        .returning(Email.status)
        .execution_options(synchronize_session=False)
    )
    return sum(1 for status in statuses if status == EmailStatus.FAILED)


def release(*, session: Session, email_ids: Sequence[int]) -> None:
    """Claimed emails that were not attempted after all: the claim and its count are undone."""
    update_in(
        session,
        Email.id,
        email_ids,
        Email.status == EmailStatus.PENDING,
        attempts=Email.attempts - 1,
        next_attempt_at=None,
    )


def mark_failed(*, session: Session, email_id: int, reason_code: str) -> bool:
    """Give up on a pending email (staff or a job decided so); False when it was not pending."""
    email = session.get(Email, email_id, with_for_update=True, populate_existing=True)
    if email is None or email.status != EmailStatus.PENDING:
        return False
    email.status = EmailStatus.FAILED
    cause = f" after {email.last_error}" if email.last_error else ""
    email.last_error = f"{reason_code}{cause}"[:500]
    email.next_attempt_at = None
    session.flush()
    return True


def _give_up(email: Email, reason: str) -> None:
    email.status = EmailStatus.FAILED
    email.last_error = reason[:500]
    email.next_attempt_at = None


def _fail_attempt(email: Email, reason: str) -> None:
    if email.attempts >= MAX_EMAIL_ATTEMPTS:
        _give_up(email, f"gave up after {email.attempts} attempts: {reason}")
        return
    email.last_error = reason[:500]
    step = BACKOFF_SECONDS[min(email.attempts, len(BACKOFF_SECONDS)) - 1]
    email.next_attempt_at = utcnow() + timedelta(seconds=step)


# --- the wire ---------------------------------------------------------------------------------


class Mailer:
    """Sends messages over one SMTP connection, opened at the first and kept for the next.

    A connection idle for more than `REUSE_SECONDS`, or one that failed, is not used again.
    Without `SMTP_HOST` each message is written to the instance outbox instead.
    """

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.settings: tuple[Any, ...] | None = None
        self.used_at = 0.0

    def send(self, outgoing: Outgoing) -> None:
        """Hand one message over; `SendFailed` when it was not accepted."""
        config = current_app.config
        try:
            if not config.get("SMTP_HOST"):
                _write_to_outbox(outgoing)
                return
            smtp = self._connection()
            options = () if outgoing.recipient.isascii() else ("SMTPUTF8",)
            smtp.sendmail(config["MAIL_FROM"], [outgoing.recipient], outgoing.data, options)
            self.used_at = time.monotonic()
        except smtplib.SMTPRecipientsRefused as exc:
            # The conversation itself went fine: the connection stays usable.
            codes = sorted({code for code, _ in exc.recipients.values()})
            # A 4xx refusal (greylisting, a full mailbox) may pass on a later attempt.
            permanent = any(code >= 500 for code in codes) or not codes
            joined = ",".join(str(code) for code in codes)
            raise SendFailed(
                f"SMTPRecipientsRefused {joined}".strip(), permanent=permanent
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # Server replies can quote the address, so only their numeric codes are kept.
            self.close()
            code = exc.smtp_code
            raise SendFailed(f"{type(exc).__name__} {code}", permanent=500 <= code < 600) from exc
        except Exception as exc:
            # Refused connections, timeouts, TLS failures, a dropped connection: the server
            # may be back later.
            self.close()
            raise SendFailed(type(exc).__name__, permanent=False) from exc

    def _connection(self) -> smtplib.SMTP:
        config = current_app.config
        settings = tuple(
            config.get(key)
            for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USERNAME", "SMTP_PASSWORD")
        )
        stale = time.monotonic() - self.used_at > REUSE_SECONDS
        if self.smtp is not None and (settings != self.settings or stale):
            self.close()
        if self.smtp is None:
            smtp = smtplib.SMTP(
                config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
            )
            try:
                if config.get("SMTP_STARTTLS"):
                    smtp.starttls(context=ssl.create_default_context())
                if config.get("SMTP_USERNAME"):
                    smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            except BaseException:
                smtp.close()
                raise
            self.smtp, self.settings = smtp, settings
        return self.smtp

    def close(self) -> None:
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


_mailers = threading.local()


def mailer() -> Mailer:
    """This thread's mailer, whose connection outlives a job for the next burst."""
    found: Mailer | None = getattr(_mailers, "mailer", None)
    if found is None:
        found = _mailers.mailer = Mailer()
    return found


def _write_to_outbox(outgoing: Outgoing) -> None:
    """The embedded default: one .eml file per email, readable only by the service's user."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{outgoing.email_id}-{outgoing.template}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(outgoing.data)
