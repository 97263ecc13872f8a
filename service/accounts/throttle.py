"""Rate limits on sign-in and password reset, per account and per client address.

Counters live in Redis when `REDIS_URL` is set, so every web process shares them; otherwise in
this process's memory (the embedded demo). Accounts are keyed by a digest of the email, never
the email itself: Redis holds no personal data. The counting is the `limits` library's.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from service.errors import AppError
from service.extensions import redis_connection


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    message = "Too many attempts. Wait a while before trying again."

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many attempts. Try again in {max(1, math.ceil(retry_after / 60))} minute(s).",
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rule:
    name: str
    per_account: RateLimitItem
    per_client: RateLimitItem


# Failed sign-ins, and reset requests (every one counts).
SIGN_IN = Rule("sign_in", parse("100/hour"), parse("300/hour"))
PASSWORD_RESET = Rule("password_reset", parse("5/hour"), parse("30/hour"))


def _limiter() -> MovingWindowRateLimiter:
    cache = current_app.extensions.setdefault("rolegate_throttle", {})
    uri = current_app.config.get("REDIS_URL") or "memory://"
    if uri not in cache:
        storage = storage_from_string(uri, key_prefix="rolegate-limits")
        assert isinstance(storage, Storage)
        cache[uri] = MovingWindowRateLimiter(storage)
    limiter: MovingWindowRateLimiter = cache[uri]
    return limiter


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _keys(rule: Rule, email: str) -> list[tuple[RateLimitItem, str, str]]:
    account = account_key(email)
    client = request.remote_addr or "unknown"
    return [
        (rule.per_account, rule.name, f"account:{account}"),
        (rule.per_client, rule.name, f"client:{client}"),
    ]


def refuse_when_exhausted(rule: Rule, email: str) -> None:
    """429 `rate_limited` when this account or this client has no attempts left."""
    limiter = _limiter()
    for item, namespace, key in _keys(rule, email):
        if not limiter.test(item, namespace, key):
            reset_at, _ = limiter.get_window_stats(item, namespace, key)
            raise TooManyRequests(retry_after=max(1, int(reset_at - time.time())))


def count(rule: Rule, email: str) -> None:
    """Count one attempt against the account and the client."""
    limiter = _limiter()
    for item, namespace, key in _keys(rule, email):
        limiter.hit(item, namespace, key)


def forget(emails: list[str]) -> int:
    """Drop the per-account counters of these addresses (a purged contact leaves nothing in
    Redis). The keys are known exactly, so nothing is scanned."""
    if not emails or redis_connection() is None:
        return 0  # in-process counters expire with the hour and never leave this process
    limiter = _limiter()
    for email in emails:
        for rule in (SIGN_IN, PASSWORD_RESET):
            limiter.clear(rule.per_account, rule.name, f"account:{account_key(email)}")
    return len(emails)
