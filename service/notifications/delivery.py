"""Delivering a recorded Email: over SMTP, or into the instance outbox when no server is set."""

from __future__ import annotations

import os
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import tokens
from service.models_base import utcnow
from service.notifications.models import Email, EmailStatus
from service.notifications.render import (
    ACCOUNT_TEMPLATES,
    Rendered,
    RenderError,
    account_owner,
    render,
)

SMTP_TIMEOUT_SECONDS = 30
# After this many delivery attempts an email is given up on (the job's own retries included).
MAX_EMAIL_ATTEMPTS = 8


class DeliveryError(Exception):
    """Sending failed; `permanent` means a retry would fail the same way."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)


def deliver(*, session: Session, email_id: int) -> bool:
    """Send a pending email once; False when there is nothing to send (already done, erased).

    The row is locked while it is sent, so two workers given the same email send it once.
    """
    email = session.scalar(
        select(Email)
        .where(Email.id == email_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if email is None or email.status != EmailStatus.PENDING or not email.recipient:
        return False
    try:
        link = account_link(session=session, email=email)
        message = _message(email, render(session=session, email=email, link=link))
        _send(email, message)
    except RenderError as exc:
        # Rendering fails the same way every time: a retry would not help.
        reason = f"RenderError {exc.code}"
        _record_failure(session, email, reason)
        raise DeliveryError(reason, permanent=True) from exc
    except smtplib.SMTPException as exc:
        reason, permanent = _classify(exc)
        gave_up = _record_failure(session, email, reason)
        raise DeliveryError(reason, permanent=permanent or gave_up) from exc
    except OSError as exc:
        # Refused connections, timeouts and TLS failures: the server may be back later.
        reason = type(exc).__name__
        gave_up = _record_failure(session, email, reason)
        raise DeliveryError(reason, permanent=gave_up) from exc
    email.status = EmailStatus.SENT
    email.sent_at = utcnow()
    email.attempts = (email.attempts or 0) + 1
    email.last_error = None
    session.flush()
    return True


def account_link(*, session: Session, email: Email) -> str | None:
    """The link an account email carries, issued now: a fresh token voids the older ones, and
    only its digest is stored. None for emails about tickets."""
    if email.template not in ACCOUNT_TEMPLATES:
        return None
    user = account_owner(session, email)
    purpose, path, _ = ACCOUNT_TEMPLATES[email.template]
    token = tokens.issue(session=session, user_id=user.id, purpose=purpose)
    return f"{current_app.config['BASE_URL']}/{path}/{token}"


def mark_failed(*, session: Session, email_id: int, reason_code: str) -> bool:
    """Give up on a pending email (retries exhausted); False when it was not pending."""
    email = session.get(Email, email_id, with_for_update=True, populate_existing=True)
    if email is None or email.status != EmailStatus.PENDING:
        return False
    email.status = EmailStatus.FAILED
    cause = f" after {email.last_error}" if email.last_error else ""
    email.last_error = f"{reason_code}{cause}"[:500]
    session.flush()
    return True


def _message(email: Email, rendered: Rendered) -> EmailMessage:
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rpartition("@")[2].strip(" >") or "rolegate.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=f"email-{email.id}", domain=domain)
    if email.ticket_id is not None:
        # Mail clients thread every email of one ticket together.
        message["References"] = f"<ticket-{email.ticket_id}@{domain}>"
    # RFC 3834: automatic replies (out of office) should not answer this.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _send(email: Email, message: EmailMessage) -> None:
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        _write_to_outbox(email, message)
        return
    with smtplib.SMTP(host, config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def _write_to_outbox(email: Email, message: EmailMessage) -> None:
    """The embedded default: one .eml file per email, readable only by the service's user."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{email.id}-{email.template}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(message.as_bytes())


def _classify(exc: smtplib.SMTPException) -> tuple[str, bool]:
    """A short reason without personal data (class and reply code) and whether it is permanent.

    Server replies can quote the address, so only their numeric codes are kept.
    """
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        # A 4xx refusal (greylisting, a full mailbox) may pass on a later attempt.
        permanent = any(code >= 500 for code in codes) or not codes
        return f"{name} {','.join(str(c) for c in codes)}".strip(), permanent
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}", 500 <= exc.smtp_code < 600
    return name, False


def _record_failure(session: Session, email: Email, reason: str) -> bool:
    """Count the failed attempt; True when it was the last one allowed and the email is failed."""
    email.attempts = (email.attempts or 0) + 1
    email.last_error = reason[:500]
    gave_up = email.attempts >= MAX_EMAIL_ATTEMPTS
    if gave_up:
        email.status = EmailStatus.FAILED
        email.last_error = f"gave up after {email.attempts} attempts: {reason}"[:500]
    session.flush()
    return gave_up
