"""The soak: the production setup under a bounded load, with the faults production sees.

Processes, all started here and all ended here: gunicorn (`service:create_app()`, several
processes), `flask --app service worker` processes, a private `redis-server`, and an SMTP server
that logs every message it accepts (harness/). PostgreSQL is the shared server, on a database
of the soak's own. While the load runs (soak/load.py), a fault is injected every
`fault_every` seconds, in a shuffled cycle of:

- `worker_kill`: a worker is killed with SIGKILL, mid-job or not, and a new one started (as a
  supervisor would);
- `redis_restart`: Redis stopped, then started again empty;
- `redis_flush`: FLUSHALL;
- `db_kill`: every connection to the soak's database terminated on the server;
- `smtp_down`: the SMTP server stopped for a while, then started again.

Then the load stops, the work left drains (bounded), and soak/checks.py judges the invariants
and prints the figures.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from argon2 import PasswordHasher

from harness.redis import RedisServer
from harness.smtp import HOST, free_port
from harness.smtp_recorder import SmtpRecorder
from harness.worker import (
    FAST_PASSWORD_HASHING,
    LEFT_OUT,
    PROJECT_ROOT,
    Worker,
    Workers,
    kill_session,
    wait_for,
)
from soak.checks import RECOUNT, Fault, Report, check, has_roster_counts
from soak.load import PASSWORD, Load, Organization

FAULTS = ("worker_kill", "redis_restart", "redis_flush", "db_kill", "smtp_down")
# How long an outage (Redis, SMTP) lasts, and how long a killed worker stays away.
OUTAGE_SECONDS = 8.0
RESTART_AFTER_SECONDS = 2.0
SECRET_KEY = "soak-" + "k" * 40


@dataclass
class Settings:
    database_url: str  # postgresql://host:port/name, the soak's own database
    logs: Path
    seconds: float = 240.0
    organizations: int = 30
    web_processes: int = 3
    workers: int = 3
    fault_every: float = 20.0
    drain_seconds: float = 300.0
    seed: int = 13
    code: Path = PROJECT_ROOT  # the checkout whose code runs (the soak compares two)
    prepare_database: bool = True  # drop and migrate it; False when it is migrated and empty


@dataclass
class Stack:
    """The running processes of one soak."""

    settings: Settings
    redis: RedisServer
    smtp: SmtpRecorder
    workers: Workers
    web: subprocess.Popen[bytes] | None = None
    base: str = ""
    running: list[Worker] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT)}
        env.update(
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=self.redis.url,
            SMTP_HOST=HOST,
            SMTP_PORT=str(self.smtp.port),
            SECRET_KEY=SECRET_KEY,
            BASE_URL="http://rolegate.soak",
            DEMO_PASSWORD=PASSWORD,
            PYTHONPATH=str(self.settings.code),
            PYTHONUNBUFFERED="1",
            **FAST_PASSWORD_HASHING,
        )
        return env

    def flask(self, *arguments: str) -> None:
        command = [sys.executable, "-m", "flask", "--app", "service", *arguments]
        done = subprocess.run(
            command, cwd=self.settings.code, env=self.env(), capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]

    def start_web(self) -> None:
        port = free_port()
        log = (self.settings.logs / "gunicorn.log").open("ab")
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.settings.web_processes),
                "--threads",
                "4",
                "--bind",
                f"{HOST}:{port}",
                "--timeout",
                "120",
                "service:create_app()",
            ],
            cwd=self.settings.code,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://{HOST}:{port}"
        wait_for(self._web_answers, timeout=120, what="gunicorn to answer")

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start_worker(self) -> None:
        process = self.workers.start()
        self.running.append(process)

    def inject(self, kind: str, rng: random.Random) -> None:
        started = time.time()
        if kind == "worker_kill":
            victim = rng.choice(self.running)
            self.running.remove(victim)
            kill_session(victim)
            time.sleep(RESTART_AFTER_SECONDS)
            self.start_worker()
        elif kind == "redis_restart":
            self.redis.stop()
            time.sleep(OUTAGE_SECONDS)
            self.redis.start()
        elif kind == "redis_flush":
            self.redis.flushall()
        elif kind == "db_kill":
            with psycopg.connect(self.settings.database_url, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        elif kind == "smtp_down":
            self.smtp.stop()
            time.sleep(OUTAGE_SECONDS)
            self.smtp.start()
        self.faults.append(Fault(kind, started, time.time()))

    def stop(self) -> None:
        for process in self.workers.started:
            kill_session(process)
        if self.web is not None:
            kill_session(self.web)
        self.smtp.stop()
        self.redis.stop()


def run(settings: Settings) -> Report:
    """Run the soak and judge it."""
    settings.logs.mkdir(parents=True, exist_ok=True)
    redis, smtp = RedisServer(settings.logs), SmtpRecorder(settings.logs)
    workers = Workers(
        database_url=settings.database_url,
        redis_url=redis.url,
        logs=settings.logs,
        settings={"BASE_URL": "http://rolegate.soak", "SECRET_KEY": SECRET_KEY},
        root=settings.code,
    )
    workers.settings.update(FAST_PASSWORD_HASHING)
    stack = Stack(settings, redis, smtp, workers)
    rng = random.Random(settings.seed)
    try:
        redis.start()
        smtp.start()
        workers.smtp_port = smtp.port
        if settings.prepare_database:
            _empty_database(settings.database_url)
            stack.flask("db", "upgrade")
        stack.flask("seed-demo")
        organizations = _seed_organizations(settings.database_url, settings.organizations)
        stack.start_web()
        for _ in range(settings.workers):
            stack.start_worker()
        load = Load(stack.base, organizations, seed=settings.seed)
        with _sampling(settings.database_url) as backlog:
            load.start()
            _faults(stack, rng)
            load.finish()
            _drain(settings)
        return check(
            database=settings.database_url,
            redis=redis.client(),
            smtp_log=smtp.messages(),
            ledger=load.ledger,
            faults=stack.faults,
            backlog=backlog,
        )
    finally:
        stack.stop()


def _faults(stack: Stack, rng: random.Random) -> None:
    """Inject faults every `fault_every` seconds until the soak's time is up."""
    settings = stack.settings
    deadline = time.monotonic() + settings.seconds
    cycle: list[str] = []
    while time.monotonic() + settings.fault_every < deadline:
        time.sleep(settings.fault_every)
        if not cycle:
            cycle = list(FAULTS)
            rng.shuffle(cycle)
        stack.inject(cycle.pop(), rng)
        print(f"  fault: {stack.faults[-1].kind}", flush=True)
    time.sleep(max(0.0, deadline - time.monotonic()))


def _drain(settings: Settings) -> None:
    """Wait, within bounds, until no ticket waits for its apply and no email for delivery."""
    deadline = time.monotonic() + settings.drain_seconds
    while time.monotonic() < deadline:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            waiting = connection.execute(
                "SELECT (SELECT count(*) FROM tickets WHERE status IN ('approved', 'applying')),"
                " (SELECT count(*) FROM emails WHERE status = 'pending')"
            ).fetchone()
        if waiting == (0, 0):
            return
        time.sleep(1)


@contextlib.contextmanager
def _sampling(database_url: str) -> Iterator[list[tuple[float, int]]]:
    """Pending emails, once a second, while the block runs."""
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1):
            try:
                with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as c:
                    row = c.execute("SELECT count(*) FROM emails WHERE status = 'pending'")
                    samples.append((time.time(), int(row.fetchone()[0])))  # type: ignore[index]
            except psycopg.Error:
                continue  # the database may be the fault of the moment

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(timeout=10)


def _empty_database(database_url: str) -> None:
    server, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def _seed_organizations(database_url: str, count: int) -> list[Organization]:
    """`count` customer organizations, each with an administrator (an account) and a financial
    contact, written in SQL that every version of the schema accepts."""
    password = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    organizations = []
    with psycopg.connect(database_url, autocommit=False) as connection:
        found = connection.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'contacts' AND column_name = 'user_id'"
        ).fetchone()
        contacts_name_accounts = found is not None
        for number in range(1, count + 1):
            slug = f"soak{number:02d}"
            org_id = connection.execute(
                "INSERT INTO organizations (slug, name, kind, seat_limit, roster_version, "
                "created_at) VALUES (%s, %s, 'customer', NULL, 1, now()) RETURNING id",
                (slug, f"Soak Customer {number}"),
            ).fetchone()[0]  # type: ignore[index]
            for local, role, account in (
                ("admin", "cust_admin", True),
                ("money", "financial", False),
            ):
                email = f"{local}@{slug}.example"
                contact_id = connection.execute(
                    "INSERT INTO contacts (organization_id, salutation, first_name, last_name, "
                    "email, status, created_at, updated_at, version) "
                    "VALUES (%s, 'Ms', %s, 'Soak', %s, 'active', now(), now(), 1) RETURNING id",
                    (org_id, local.title(), email),
                ).fetchone()[0]  # type: ignore[index]
                connection.execute(
                    "INSERT INTO contact_roles (contact_id, role_code) VALUES (%s, %s)",
                    (contact_id, role),
                )
                if account and contacts_name_accounts:
                    user_id = connection.execute(
                        "INSERT INTO users (email, password_hash, status, is_staff, "
                        "organization_id, created_at) "
                        "VALUES (%s, %s, 'active', false, %s, now()) RETURNING id",
                        (email, password, org_id),
                    ).fetchone()[0]  # type: ignore[index]
                    connection.execute(
                        "UPDATE contacts SET user_id = %s WHERE id = %s", (user_id, contact_id)
                    )
                elif account:  # a schema of before memberships: the account names its contact
                    connection.execute(
                        "INSERT INTO users (email, password_hash, status, is_staff, "
                        "organization_id, contact_id, created_at) "
                        "VALUES (%s, %s, 'active', false, %s, %s, now())",
                        (email, password, org_id, contact_id),
                    )
            organizations.append(Organization(slug=slug, admin=f"admin@{slug}.example"))
        if has_roster_counts(connection):
            # A schema that keeps roster counts: every writer keeps them in step, this one too.
            connection.execute(
                f"INSERT INTO roster_counts (organization_id, status, role_code, n) {RECOUNT} "
                "WHERE counted.organization_id IN "
                "(SELECT id FROM organizations WHERE slug LIKE 'soak%%')"
            )
        connection.commit()
    return organizations
