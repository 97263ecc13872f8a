"""The development outbox (`OUTBOX_DIR`, used without `SMTP_HOST`): erasing a person from it.

Each email delivered without SMTP is an .eml file there (`delivery._write_to_outbox`). A purge
removes the files addressed to the purged contact and rewrites those that mention them, with
their values replaced by a marker, keeping every header else (the Message-ID too). It runs in
the purge's transaction, before the commit: the outbox is the development stand-in for a mail
server, and a purge that rolls back has then only removed copies of emails already delivered.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import cast

from flask import current_app

_TEXT_PARTS = ("text/plain", "text/html")


def erase_from_outbox(
    *, pattern: re.Pattern[str] | None, addresses: Sequence[str], marker: str
) -> str | None:
    """Remove the outbox's emails to these addresses and replace `pattern` with `marker` in the
    others; what was done, in words without personal data, or None when nothing was."""
    folder = Path(current_app.config.get("OUTBOX_DIR") or "")
    if not str(folder) or not folder.is_dir():
        return None
    wanted = {address.strip().lower() for address in addresses}
    removed = rewritten = 0
    parser = BytesParser(policy=policy.default)
    for path in sorted(folder.glob("*.eml")):
        message = cast(EmailMessage, parser.parsebytes(path.read_bytes()))
        recipients = {a.strip().lower() for _, a in getaddresses(message.get_all("To", []))}
        if recipients & wanted:
            path.unlink(missing_ok=True)
            removed += 1
        elif pattern is not None and _erase(message, pattern, marker):
            _replace(path, message.as_bytes(policy=policy.SMTP))
            rewritten += 1
    if not (removed or rewritten):
        return None
    return f"development outbox: {removed} emails removed, {rewritten} rewritten"


def _erase(message: EmailMessage, pattern: re.Pattern[str], marker: str) -> bool:
    """Replace the pattern in the subject and every text part; whether anything changed."""
    changed = False
    subject = str(message.get("Subject", ""))
    if pattern.search(subject):
        del message["Subject"]
        message["Subject"] = pattern.sub(marker, subject)
        changed = True
    for part in message.walk():
        if part.get_content_type() not in _TEXT_PARTS:
            continue
        text = cast(EmailMessage, part).get_content()
        if not pattern.search(text):
            continue
        subtype = part.get_content_subtype()
        cast(EmailMessage, part).set_content(
            pattern.sub(marker, text), subtype=subtype, charset="utf-8", cte="base64"
        )
        changed = True
    return changed


def _replace(path: Path, data: bytes) -> None:
    """Write the file anew, readable only by the service's user, in one rename."""
    temporary = path.with_suffix(".eml.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
