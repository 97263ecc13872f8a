"""Rate limits on sign-in, password reset and invitation resends.

Sign-in slows down; it never locks an account. A hard limit per account would let anyone lock
any account out by failing on purpose, so failures are counted per account *and* client address:

- An (account, address) pair has `FREE_FAILURES` failures free; after that each attempt must
  wait twice as long as the one before (1 s, 2 s, 4 s, … up to `MAX_WAIT_SECONDS`) after the
  previous one, and is answered 429 `rate_limited` with `Retry-After` until then. A pair's
  failures are forgotten `FORGET_AFTER_SECONDS` after its last one, and when it signs in.
- One address may fail `CLIENT_FAILURES` times an hour over all accounts (guessing many
  accounts from one place); then it is refused for every account until the hour has passed.

So the owner of an account, signing in from their own address, waits only for their own
failures, whatever anyone does from elsewhere. The price: a guesser with many addresses gets
`FREE_FAILURES` tries from each before slowing down; Argon2id and the password rules (12 or more
characters) keep that hopeless, and no one can turn the defence against an account's owner.

An attempt is claimed before its password is checked, in one atomic step (a Lua script in Redis,
a lock in memory), so concurrent attempts of one pair cannot slip through during its wait; the
right password then clears the pair. The address is `request.remote_addr`, which
`service.proxies` takes from X-Forwarded-For only through `TRUSTED_PROXIES`.

Password reset requests count per account (5 an hour) and per address (30 an hour), every one;
invitation resends per contact (5 an hour).

Counters live in Redis when `REDIS_URL` is set, so every web process shares them; otherwise in
this process's memory (the embedded demo). They hold no personal data: an account or address is
named by an HMAC of the email or address keyed with `SECRET_KEY`, never a bare hash (a list of
addresses, hashed, would reverse that). An account's sign-in waits are one Redis hash named by
its digest, so a purge removes them, like the reset counters, by exact key; nothing is scanned.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis import Redis

from service.errors import AppError, Unauthorized
from service.extensions import redis_connection
from service.fields import normalize_email

FREE_FAILURES = 5
MAX_WAIT_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 60 * 60
CLIENT_FAILURES = parse("100/hour")
INVITATION_RESENDS = parse("5/hour")

T = TypeVar("T")


def clock() -> float:
    """Now, in seconds; the suite moves it by hand to test waits without sleeping."""
    return time.time()


class TooManyRequests(
    AppError,
    status=429,
    code="rate_limited",
    message="Too many attempts. Wait a while before trying again.",
):
    """Sent too often lately (`Retry-After` says how long to wait)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many attempts. Try again in {_in_words(retry_after)}.",
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class Rule:
    name: str
    per_account: RateLimitItem
    per_client: RateLimitItem


PASSWORD_RESET = Rule("password_reset", parse("5/hour"), parse("30/hour"))


def _digest(kind: str, value: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def account_key(email: str) -> str:
    """How counters name an account: a keyed digest of its normalized, lower-cased email."""
    return _digest("account", normalize_email(email).lower())


def _client_key() -> str:
    return _digest("client", request.remote_addr or "unknown")


def _state() -> dict[str, object]:
    # Per app, and dropped by the suite between tests (the in-memory counters with it).
    state: dict[str, object] = current_app.extensions.setdefault("rolegate_throttle", {})
    return state


def _limiter() -> MovingWindowRateLimiter:
    state = _state()
    if "limiter" not in state:
        uri = current_app.config.get("REDIS_URL") or "memory://"
        storage = storage_from_string(uri, key_prefix="rolegate-limits")
        assert isinstance(storage, Storage)
        state["limiter"] = MovingWindowRateLimiter(storage)
    limiter = state["limiter"]
    assert isinstance(limiter, MovingWindowRateLimiter)
    return limiter


def _refused(item: RateLimitItem, namespace: str, key: str) -> TooManyRequests:
    reset_at, _ = _limiter().get_window_stats(item, namespace, key)
    return TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))


# -- Sign-in -------------------------------------------------------------------------------


def sign_in_attempt(email: str, check: Callable[[], T]) -> T:
    """Run `check` (the password check, raising `Unauthorized`) under the sign-in limits.

    429 `rate_limited` when this address has failed too often, or when this account and
    address must still wait; a failure counts against both, a success clears the pair.
    """
    account, client = account_key(email), _client_key()
    client_key = f"client:{client}"
    if not _limiter().test(CLIENT_FAILURES, "sign_in", client_key):
        raise _refused(CLIENT_FAILURES, "sign_in", client_key)
    wait = _waits().claim(account, client, clock())
    if wait:
        raise TooManyRequests(retry_after=wait)
    try:
        result = check()
    except Unauthorized:
        _limiter().hit(CLIENT_FAILURES, "sign_in", client_key)
        raise
    _waits().clear(account, client)
    return result


def _wait_after(failures: int) -> float:
    """Seconds an attempt must wait after the previous one, given the pair's failures so far."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(2 ** (failures - FREE_FAILURES), MAX_WAIT_SECONDS))


class _MemoryWaits:
    """Sign-in waits of this process: (account, client) -> (failures, time of the last)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pairs: dict[tuple[str, str], tuple[int, float]] = {}

    def claim(self, account: str, client: str, now: float) -> int:
        with self.lock:
            failures, last = self.pairs.get((account, client), (0, 0.0))
            if now - last > FORGET_AFTER_SECONDS:
                failures = 0
            left = last + _wait_after(failures) - now
            if left > 0:
                return math.ceil(left)
            self.pairs[(account, client)] = (failures + 1, now)
            if len(self.pairs) > 10_000:
                self.pairs = {
                    pair: entry
                    for pair, entry in self.pairs.items()
                    if now - entry[1] <= FORGET_AFTER_SECONDS
                }
            return 0

    def clear(self, account: str, client: str) -> None:
        with self.lock:
            self.pairs.pop((account, client), None)

    def forget(self, accounts: list[str]) -> None:
        gone = set(accounts)
        with self.lock:
            self.pairs = {pair: e for pair, e in self.pairs.items() if pair[0] not in gone}


# The same rule as `_MemoryWaits.claim` and `_wait_after`, run inside Redis so that a claim is
# one atomic step for every web process. KEYS[1]: the account's hash; ARGV: client, now,
# FREE_FAILURES, MAX_WAIT_SECONDS, FORGET_AFTER_SECONDS. Returns the seconds left to wait.
_CLAIM = """
local failures = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':n')) or 0
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':at')) or 0
local now = tonumber(ARGV[2])
local free = tonumber(ARGV[3])
if now - last > tonumber(ARGV[5]) then failures = 0 end
if failures >= free then
  local left = last + math.min(2 ^ (failures - free), tonumber(ARGV[4])) - now
  if left > 0 then return math.ceil(left) end
end
redis.call('HSET', KEYS[1], ARGV[1] .. ':n', failures + 1, ARGV[1] .. ':at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
"""


class _RedisWaits:
    """Sign-in waits shared by every web process: one hash per account, two fields per client."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection
        self.script = connection.register_script(_CLAIM)

    @staticmethod
    def _key(account: str) -> str:
        return f"rolegate-sign-in:{account}"

    def claim(self, account: str, client: str, now: float) -> int:
        args: list[str | int] = [
            client,
            repr(now),
            FREE_FAILURES,
            MAX_WAIT_SECONDS,
            FORGET_AFTER_SECONDS,
        ]
        return int(self.script(keys=[self._key(account)], args=args))

    def clear(self, account: str, client: str) -> None:
        self.connection.hdel(self._key(account), f"{client}:n", f"{client}:at")

    def forget(self, accounts: list[str]) -> None:
        self.connection.delete(*(self._key(account) for account in accounts))


def _waits() -> _MemoryWaits | _RedisWaits:
    state = _state()
    if "waits" not in state:
        connection = redis_connection()
        state["waits"] = _MemoryWaits() if connection is None else _RedisWaits(connection)
    waits = state["waits"]
    assert isinstance(waits, _MemoryWaits | _RedisWaits)
    return waits


# -- Password reset and invitations -----------------------------------------------------------


def _keys(rule: Rule, email: str) -> list[tuple[RateLimitItem, str, str]]:
    return [
        (rule.per_account, rule.name, f"account:{account_key(email)}"),
        (rule.per_client, rule.name, f"client:{_client_key()}"),
    ]


def refuse_when_exhausted(rule: Rule, email: str) -> None:
    """429 `rate_limited` when this account or this client has no attempts left."""
    for item, namespace, key in _keys(rule, email):
        if not _limiter().test(item, namespace, key):
            raise _refused(item, namespace, key)


def count(rule: Rule, email: str) -> None:
    """Count one attempt against the account and the client."""
    for item, namespace, key in _keys(rule, email):
        _limiter().hit(item, namespace, key)


def limit_invitation_resend(contact_id: int) -> None:
    """Count a resend of the contact's invitation; 429 `rate_limited` past the limit."""
    key = f"contact:{contact_id}"
    if not _limiter().hit(INVITATION_RESENDS, "invitation_resend", key):
        raise _refused(INVITATION_RESENDS, "invitation_resend", key)


def forget_accounts(accounts: list[str]) -> None:
    """Drop every counter of these accounts, named by `account_key` (a purged contact leaves
    nothing in Redis). The keys are known exactly, so nothing is scanned."""
    if not accounts:
        return
    _waits().forget(accounts)
    for account in accounts:
        _limiter().clear(PASSWORD_RESET.per_account, PASSWORD_RESET.name, f"account:{account}")
