"""Standard Webhooks signatures (https://www.standardwebhooks.com): pure functions.

A secret is `whsec_` followed by the base64 of 32 random bytes. A delivery carries three
headers: `webhook-id` (the event's uid, the same on every attempt), `webhook-timestamp` (Unix
seconds at the attempt) and `webhook-signature`, one or more space-separated `v1,<base64 of
HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` where the key is the secret's decoded bytes.
While a rotated secret's grace period lasts, the signature of the previous secret is sent too,
so a receiver can switch secrets at its own pace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 signature>` of one message with one secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets_: Iterable[str], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three signature headers of one attempt, signed with every given secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets_
        ),
    }
