"""Failed sign-ins slow down whoever fails, from where they fail; they never lock the account's
owner out. Counters are keyed digests: no email or address is kept in them."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

import pytest

from service.accounts import throttle
from service.config import parse_networks
from service.extensions import redis_connection
from tests.factories import PASSWORD
from tests.live_server import live_server, request_json
from tests.web.browser import ADMIN
from tests.web.forms import csrf_token

OWNER = "198.51.100.7"
ATTACKER = "203.0.113.9"


class Clock:
    """The throttle's clock, moved by hand: waits are checked without sleeping."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "clock", fake)
    return fake


@pytest.fixture
def demo(factory):
    factory.demo()


def attempt(client, password: str, address: str, email: str = ADMIN):
    return client.post(
        "/api/auth/token",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failures_from_another_address_never_refuse_the_owner(demo, app, client, clock):
    statuses = Counter(attempt(client, "wrong guess", ATTACKER).status_code for _ in range(120))
    assert statuses[429] > 0, "the attacker is slowed down"

    assert attempt(client, PASSWORD, OWNER).status_code == 200
    browser = app.test_client()
    form = {"email": ADMIN, "password": PASSWORD, "csrf_token": csrf_token(browser)}
    assert browser.post("/login", data=form, environ_base={"REMOTE_ADDR": OWNER}).status_code == 302


def test_failures_from_one_address_wait_longer_and_longer_up_to_a_cap(demo, client, clock):
    for _ in range(throttle.FREE_FAILURES):
        assert attempt(client, "wrong guess", ATTACKER).status_code == 401
    waits = []
    while len(waits) < 14:
        refused = attempt(client, "wrong guess", ATTACKER)
        assert refused.status_code == 429
        assert refused.get_json()["code"] == "rate_limited"
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait - 0.5)
        assert attempt(client, "wrong guess", ATTACKER).status_code == 429, "not before its time"
        clock.advance(0.5)
        assert attempt(client, "wrong guess", ATTACKER).status_code == 401
    assert waits[:5] == [1, 2, 4, 8, 16]
    assert max(waits) == throttle.MAX_WAIT_SECONDS == waits[-1]


def test_the_right_password_after_a_wait_clears_that_addresss_failures(demo, client, clock):
    for _ in range(throttle.FREE_FAILURES):
        attempt(client, "wrong guess", OWNER)
    assert attempt(client, PASSWORD, OWNER).status_code == 429
    clock.advance(1)
    assert attempt(client, PASSWORD, OWNER).status_code == 200
    statuses = [attempt(client, "typo", OWNER).status_code for _ in range(throttle.FREE_FAILURES)]
    assert statuses == [401] * throttle.FREE_FAILURES


def test_the_waits_apply_on_the_sign_in_page_too(demo, app, clock):
    browser = app.test_client()
    token = csrf_token(browser)
    answers = [
        browser.post(
            "/login",
            data={"email": ADMIN, "password": "wrong guess", "csrf_token": token},
            environ_base={"REMOTE_ADDR": ATTACKER},
        )
        for _ in range(throttle.FREE_FAILURES + 1)
    ]
    assert [a.status_code for a in answers] == [401] * throttle.FREE_FAILURES + [429]
    assert answers[-1].headers["Retry-After"] == "1"
    assert "Too many attempts" in answers[-1].get_data(as_text=True)


def test_behind_a_trusted_proxy_each_forwarded_client_is_slowed_down_on_its_own(
    demo, app, client, clock, monkeypatch
):
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def through_proxy(password: str, forwarded: str):
        return client.post(
            "/api/auth/token",
            json={"email": ADMIN, "password": password},
            headers={"X-Forwarded-For": forwarded},
            environ_base=proxy,
        )

    monkeypatch.setitem(
        app.config, "TRUSTED_PROXIES", parse_networks("10.0.0.0/8", "TRUSTED_PROXIES")
    )
    for _ in range(throttle.FREE_FAILURES + 3):
        # A client cannot dodge the waits by writing its own X-Forwarded-For entries.
        through_proxy("wrong guess", f"{OWNER}, {ATTACKER}")
    assert through_proxy("wrong guess", ATTACKER).status_code == 429
    assert through_proxy(PASSWORD, OWNER).status_code == 200

    # Not trusted, the proxy's own address is the only one seen: everyone behind it waits.
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", ())
    for _ in range(throttle.FREE_FAILURES + 1):
        through_proxy("wrong guess", ATTACKER)
    assert through_proxy(PASSWORD, OWNER).status_code == 429


def test_one_address_failing_across_many_accounts_is_refused_for_every_account(demo, client, clock):
    limit = throttle.CLIENT_FAILURES.amount
    for number in range(limit):
        assert (
            attempt(client, "x", ATTACKER, email=f"guess{number}@acme.example").status_code == 401
        )
    assert attempt(client, "x", ATTACKER, email="another@acme.example").status_code == 429
    assert attempt(client, PASSWORD, ATTACKER).status_code == 429
    assert attempt(client, PASSWORD, OWNER).status_code == 200


def test_concurrent_attempts_get_one_try_per_wait(demo, app, clock):
    with live_server(app) as url:

        def wrong() -> int:
            status, _ = request_json(
                "POST", f"{url}/api/auth/token", {"email": ADMIN, "password": "wrong guess"}
            )
            return status

        for _ in range(throttle.FREE_FAILURES):
            assert wrong() == 401
        wait = 1
        for _ in range(5):
            clock.advance(wait)
            results = race(wrong, 12)
            assert sorted(results) == [401] + [429] * 11, results
            wait *= 2


def race(call, count: int) -> list[int]:
    """Run `call` from `count` threads at once; their answers."""
    results: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run() -> None:
        start.wait(timeout=60)
        status = call()
        with lock:
            results.append(status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.postgres_only
def test_redis_holds_only_keyed_digests_of_emails_and_addresses(demo, app, client, clock):
    for address in (OWNER, ATTACKER):
        for _ in range(throttle.FREE_FAILURES + 1):
            attempt(client, "wrong guess", address)
    with app.app_context():
        connection = redis_connection()
        assert connection is not None
        dump = []
        for key in connection.scan_iter():
            dump.append(key.decode())
            if connection.type(key) == b"hash":
                dump.extend(str(item) for item in connection.hgetall(key).items())
            elif connection.type(key) == b"zset":
                dump.extend(str(item) for item in connection.zrange(key, 0, -1))
        text = "\n".join(dump)
        assert text, "the counters are in Redis"
        for secret in (ADMIN, OWNER, ATTACKER, "admin"):
            assert secret not in text
            assert hashlib.sha256(secret.encode()).hexdigest()[:16] not in text
        with app.test_request_context():
            assert throttle.account_key(ADMIN) in text
