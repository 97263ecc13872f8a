"""The production guide, run: the commands and environment of the systemd units in deploy/systemd/
(gunicorn with the shipped `gunicorn.conf.py`, and two `flask --app service worker`), on
PostgreSQL, a Redis of the test's own and a real SMTP server.

Several organizations submit batches that add people with canary names; staff approve each with
an id of their own in `X-Request-ID`; the workers apply them and send the emails. Meanwhile and
after, `/metrics` is scraped through gunicorn and read with prometheus_client's parser: it adds up
the web processes' requests and the workers' jobs. Then every line the processes wrote is JSON,
each approval's id leads from its request to its apply and its emails, and no canary is in any
line. Last, Redis is stopped, then the database is cut off (through a relay the test owns):
readiness says which, liveness holds, and both recover.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from harness.smtp import free_port
from harness.worker import wait_for
from service.config import PROJECT_ROOT
from tests.ops.support import METRICS_TOKEN, PrivateRedis, TcpRelay, parse_metrics, sample
from tests.tickets.support import STAFF

pytestmark = pytest.mark.postgres_only

ORGANIZATIONS = 3
MONITORING_NETWORK = "10.9.8.0/24"
PASSWORD = "correct horse battery"
VENV_BIN = Path(sys.executable).parent


def canary(org: int, person: int) -> dict[str, str]:
    """A person nobody else is: every part of them is searched for in the logs afterwards."""
    return {
        "salutation": "Mx",
        "first_name": f"Xanthippe{org}{person}q",
        "last_name": f"Vorpalsson{org}{person}q",
        "email": f"xanthippe.{org}{person}@org{org}.example",
        "phone": f"+44 20 7946 1{org}{person}7",
    }


class Http:
    """Requests to gunicorn, counted, so the scrape's totals can be checked against them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.sent = 0

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw, status, answer_headers = response.read(), response.status, response.headers
        except urllib.error.HTTPError as error:
            raw, status, answer_headers = error.read(), error.code, error.headers
        self.sent += 1  # answered (a refused connection while gunicorn starts is not)
        content_type = answer_headers.get("Content-Type", "")
        parsed = json.loads(raw or b"null") if "json" in content_type else raw.decode()
        return status, parsed, dict(answer_headers)

    def scrape(self) -> dict:
        status, text, _ = self.call("GET", "/metrics", headers=_bearer(METRICS_TOKEN))
        assert status == 200, text
        return parse_metrics(text)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def unit(name: str, *, metrics_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The command and environment a systemd unit of deploy/systemd/ starts, pointed at this
    checkout instead of /opt/rolegate and at the test's metrics directory."""
    command: list[str] = []
    env: dict[str, str] = {}
    for line in (PROJECT_ROOT / "deploy" / "systemd" / name).read_text().splitlines():
        line = line.replace("/opt/rolegate", str(PROJECT_ROOT))
        line = line.replace("/run/rolegate-metrics", str(metrics_dir))
        key, _, value = line.partition("=")
        if key == "ExecStart":
            command = shlex.split(value)
        elif key == "Environment":
            name_, _, setting = value.partition("=")
            env[name_] = setting
    assert command, f"{name} has no ExecStart"
    # The unit's paths name the checkout's virtualenv; this one is the suite's.
    command[0] = str(VENV_BIN / Path(command[0]).name)
    return command, env


@pytest.fixture
def database(app) -> Iterator[tuple[TcpRelay, str]]:
    """The test's PostgreSQL database, reached through a relay the test can cut."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    relay.stop()


@pytest.fixture
def production(app, smtp, redis, database, tmp_path) -> Iterator[dict[str, Any]]:
    """gunicorn (2 processes) and two workers, started by the commands of the systemd units."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    # What /etc/rolegate/rolegate.env holds in production.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "SMTP_", "FLASK_", "REDIS_", "DATABASE_"))
    }
    env.update(
        SECRET_KEY="a-production-secret-of-forty-characters!",
        DATABASE_URL=database[1],
        REDIS_URL=redis.url,
        BASE_URL=app.config["BASE_URL"],
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        METRICS_TOKEN=METRICS_TOKEN,
        # As behind deploy/nginx/rolegate.conf on the same host: the proxy is 127.0.0.1, and
        # the monitoring network may read /metrics without the token.
        TRUSTED_PROXIES="127.0.0.1",
        METRICS_ALLOWED_NETWORKS=MONITORING_NETWORK,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="64",
        PYTHONUNBUFFERED="1",
    )
    web = unit("rolegate-web.service", metrics_dir=metrics_dir)
    worker = unit("rolegate-worker@.service", metrics_dir=metrics_dir)
    assert web[1]["ROLEGATE_ENV"] == "production"
    assert web[1]["PROMETHEUS_MULTIPROC_DIR"] == worker[1]["PROMETHEUS_MULTIPROC_DIR"]
    started = {"web": web, "worker-1": worker, "worker-2": worker}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    try:
        for name, (command, unit_env) in started.items():
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("wb") as output:
                processes[name] = subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env={**env, **unit_env},
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        http = Http(f"http://127.0.0.1:{port}")
        wait_for(
            lambda: _answers(http, "/readyz") == 200 or _exited(processes, logs),
            timeout=120,
            what="gunicorn's readiness",
        )
        yield {
            "http": http,
            "processes": processes,
            "logs": logs,
            "redis": redis,
            "database": database[0],
        }
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _answers(http: Http, path: str) -> int | None:
    try:
        return http.call("GET", path)[0]
    except OSError:
        return None


def _exited(processes: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]) -> bool:
    for name, process in processes.items():
        assert process.poll() is None, f"{name} exited:\n{logs[name].read_text()[-3000:]}"
    return False


def test_gunicorn_and_two_workers_drive_a_batch_through(app, factory, smtp, production):
    http: Http = production["http"]
    factory.demo()
    admins = {}
    for org in range(ORGANIZATIONS):
        org_id = factory.org(f"org{org}", name=f"Organization {org}")
        admins[org] = f"admin@org{org}.example"
        factory.contact(org_id, admins[org], ["cust_admin", "financial"], account="active")

    def token(email: str) -> str:
        status, body, _ = http.call(
            "POST", "/api/auth/token", {"email": email, "password": PASSWORD}
        )
        assert status == 200, body
        return str(body["token"])

    staff = _bearer(token(STAFF))
    references = {}
    for org, email in admins.items():
        headers = _bearer(token(email))
        _, roster, _ = http.call("GET", f"/api/orgs/org{org}/contacts", headers=headers)
        changes = [
            {"op": "add_contact", "ref": f"p{person}", "contact": canary(org, person)}
            | {"roles": ["technical"]}
            for person in range(2)
        ]
        status, body, _ = http.call(
            "POST",
            f"/api/orgs/org{org}/change-requests",
            {"base_version": roster["version"], "changes": changes},
            headers,
        )
        assert status == 201, body
        references[org] = body["ticket"]["reference"]

    during = http.scrape()
    assert sample(during, "rolegate_tickets", status="open") == ORGANIZATIONS

    approvals = {org: f"{org + 1:02d}" * 16 for org in references}
    for org, reference in references.items():
        status, body, headers = http.call(
            "POST",
            f"/api/tickets/{reference}/approve",
            headers={**staff, "X-Request-ID": approvals[org]},
        )
        assert status == 202, body
        assert headers["X-Request-ID"] == approvals[org]

    def implemented() -> bool:
        return all(
            http.call("GET", f"/api/tickets/{reference}", headers=staff)[1]["status"]
            == "implemented"
            for reference in references.values()
        )

    wait_for(implemented, timeout=180, interval=0.5, what="every ticket implemented")
    welcomes = {canary(org, person)["email"] for org in references for person in range(2)}
    wait_for(
        lambda: welcomes <= {message["To"] for message in smtp.messages()},
        timeout=180,
        interval=0.5,
        what="every welcome email",
    )
    wait_for(
        lambda: sample(http.scrape(), "rolegate_emails_pending") == 0,
        timeout=120,
        interval=0.5,
        what="no email left pending",
    )

    after = http.scrape()
    # Counted by two gunicorn processes and two workers, served by one of them.
    answered = sum(
        value
        for (name, labels), value in after.items()
        if name == "rolegate_http_requests_total" and ("route", "/metrics") not in labels
    )
    scrapes = sum(
        value
        for (name, labels), value in after.items()
        if name == "rolegate_http_requests_total" and ("route", "/metrics") in labels
    )
    assert answered + scrapes + 1 == http.sent
    assert sample(after, "rolegate_jobs_total", kind="apply", outcome="done") == ORGANIZATIONS
    assert sample(after, "rolegate_emails_total", outcome="sent") == len(smtp.messages())
    assert sample(after, "rolegate_tickets", status="implemented") == ORGANIZATIONS
    assert sample(after, "rolegate_queue_depth", queue="apply") == 0
    assert sample(after, "rolegate_dependency_up", dependency="queue") == 1

    _metrics_through_the_proxy(http)
    _probes_follow_redis(http, production["redis"])
    _probes_follow_the_database(http, production["database"])
    lines = _stop_and_read_logs(production)
    _follow_each_approval(lines, approvals)
    _no_canary_in(lines)


def _metrics_through_the_proxy(http: Http) -> None:
    """The proxy (127.0.0.1, trusted) appends the client's address; only that address counts."""
    inside = http.call("GET", "/metrics", headers={"X-Forwarded-For": "10.9.8.7"})
    assert inside[0] == 200
    outside = http.call("GET", "/metrics", headers={"X-Forwarded-For": "10.9.9.7"})
    assert outside[0] == 401
    # What a client wrote itself, left of what the proxy saw, is never believed.
    forged = http.call("GET", "/metrics", headers={"X-Forwarded-For": "10.9.8.7, 10.9.9.7"})
    assert forged[0] == 401


def _probes_follow_redis(http: Http, redis: PrivateRedis) -> None:
    redis.stop()
    status, body, headers = http.call("GET", "/readyz")
    assert status == 503 and body["queue"] == "down" and body["database"] == "ok", body
    assert int(headers["Retry-After"]) > 0
    assert http.call("GET", "/livez")[0] == 200
    redis.start()
    wait_for(lambda: http.call("GET", "/readyz")[0] == 200, timeout=30, what="ready again")


def _probes_follow_the_database(http: Http, relay: TcpRelay) -> None:
    relay.stop()
    status, body, headers = http.call("GET", "/readyz")
    assert status == 503, body
    assert (body["database"], body["migrations"], body["queue"]) == ("down", "unknown", "ok")
    assert int(headers["Retry-After"]) > 0
    assert http.call("GET", "/livez")[0] == 200
    health = http.call("GET", "/healthz")
    assert health[0] == 503 and health[1]["database"] == "down"
    relay.start()
    wait_for(lambda: http.call("GET", "/readyz")[0] == 200, timeout=30, what="the database back")


def _stop_and_read_logs(production: dict[str, Any]) -> list[dict[str, Any]]:
    """Stop every process (as systemd does, SIGTERM) and read every line each wrote: JSON all."""
    for process in production["processes"].values():
        os.killpg(process.pid, signal.SIGTERM)
    for process in production["processes"].values():
        process.wait(timeout=60)
    lines = []
    for name, path in production["logs"].items():
        for number, text in enumerate(path.read_text().splitlines(), 1):
            if not text.strip():
                continue
            try:
                lines.append(json.loads(text) | {"process": name})
            except json.JSONDecodeError:
                pytest.fail(f"{name}.log line {number} is not JSON: {text[:300]}")
    return lines


def _follow_each_approval(lines: list[dict[str, Any]], approvals: dict[int, str]) -> None:
    for request_id in approvals.values():
        traced = [line for line in lines if line.get("request_id") == request_id]
        requests = [line for line in traced if line["logger"] == "rolegate.request"]
        assert [line["route"] for line in requests] == ["/api/tickets/<reference>/approve"]
        assert requests[0]["process"] == "web"
        jobs = [line for line in traced if line["logger"] == "rolegate.job"]
        assert {line["process"] for line in jobs} <= {"worker-1", "worker-2"}
        assert [line["outcome"] for line in jobs if line["kind"] == "apply"] == ["done"]
        emails = [line["outcome"] for line in jobs if line["kind"] == "emails"]
        # Two welcomes and the requester's notice, all sent, in the `implemented` event's job.
        assert emails == ["sent"], emails


def _no_canary_in(lines: list[dict[str, Any]]) -> None:
    written = json.dumps(lines).lower()
    for org in range(ORGANIZATIONS):
        for person in range(2):
            for value in canary(org, person).values():
                if value != "Mx":
                    assert value.lower() not in written, value
