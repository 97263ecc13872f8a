"""The soak's load: organizations that submit change requests without pause, and staff who
approve each at once, all through the HTTP API, every answer recorded.

Each organization runs in a thread of its own: read the roster, submit a batch (new contacts,
detail changes, role grants, a deletion of a contact it added earlier), have staff approve it,
then follow the ticket until it is applied or failed; now and then its administrator asks for a
password reset. An organization has at most one unfinished request, so the load is bounded by
the number of organizations. Every contact it adds carries made-up values unique to the run, so
that after a deletion they can be looked for everywhere.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "soak-password-1"
STAFF = ("staff@vendor.example", "staff2@vendor.example")
FINAL = {"implemented", "failed", "rejected", "cancelled"}
# Seconds an organization follows its ticket before it moves on (the next submission then waits).
FOLLOW_SECONDS = 120


@dataclass(frozen=True)
class Call:
    """One HTTP exchange: `status` 0 when no answer came; `code` is the error body's code, or
    what went wrong without one (`no_body`, an exception's name)."""

    at: float
    method: str
    route: str
    status: int
    code: str | None


@dataclass
class Ledger:
    """What the load did and saw, shared by every thread."""

    calls: list[Call] = field(default_factory=list)
    # Contacts the load asked to delete: id -> the values they were created with.
    deleted: dict[int, dict[str, str]] = field(default_factory=dict)
    submitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


class Client:
    """JSON over HTTP to the service under test; every exchange goes into the ledger."""

    def __init__(self, base: str, ledger: Ledger) -> None:
        self.base = base
        self.ledger = ledger

    def call(
        self, method: str, path: str, route: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        status, payload, code = 0, None, None
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as exc:
            code, raw = type(exc).__name__, b""
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        if status >= 400:
            code = payload.get("code") if isinstance(payload, dict) else "no_body"
        self.ledger.record(Call(time.time(), method, route, status, code))
        return status, payload

    def token(self, email: str) -> str | None:
        status, body = self.call(
            "POST", "/api/auth/token", "/api/auth/token", {"email": email, "password": PASSWORD}
        )
        return body["token"] if status == 200 else None


@dataclass
class Organization:
    slug: str
    admin: str
    # Contacts this organization added, by id, with the values they were created with.
    added: dict[int, dict[str, str]] = field(default_factory=dict)


class Load:
    """One thread per organization until `stop` is set."""

    def __init__(self, base: str, organizations: list[Organization], *, seed: int) -> None:
        self.ledger = Ledger()
        self.client = Client(base, self.ledger)
        self.organizations = organizations
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.tokens: dict[str, str] = {}
        self.tokens_lock = threading.Lock()

    def start(self) -> None:
        for number, organization in enumerate(self.organizations):
            rng = random.Random(self.random.random())
            thread = threading.Thread(
                target=self._run, args=(organization, rng, number), name=organization.slug
            )
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=FOLLOW_SECONDS + 60)

    def _token(self, email: str) -> str | None:
        with self.tokens_lock:
            found = self.tokens.get(email)
        if found is None:
            found = self.client.token(email)
            if found is not None:
                with self.tokens_lock:
                    self.tokens[email] = found
        return found

    def _pause(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def _run(self, organization: Organization, rng: random.Random, number: int) -> None:
        self._pause(rng.random() * 2)  # not every organization at the same instant
        while not self.stop.is_set():
            try:
                self._round(organization, rng, number)
            except Exception as exc:  # the load goes on; the figures show what failed
                self.ledger.record(Call(time.time(), "-", "load", 0, type(exc).__name__))
                self._pause(1)

    def _round(self, organization: Organization, rng: random.Random, number: int) -> None:
        admin = self._token(organization.admin)
        if admin is None:
            self._pause(1)
            return
        slug = organization.slug
        status, roster = self.client.call(
            "GET", f"/api/orgs/{slug}/contacts", "/api/orgs/<slug>/contacts", token=admin
        )
        if status != 200:
            self._pause(1)
            return
        if roster.get("pending_ticket"):
            self._follow(roster["pending_ticket"], admin)
            return
        changes = batch(organization, roster, rng)
        status, body = self.client.call(
            "POST",
            f"/api/orgs/{slug}/change-requests",
            "/api/orgs/<slug>/change-requests",
            {"base_version": roster["version"], "changes": changes},
            admin,
        )
        if status != 201:
            self._pause(1)
            return
        with self.ledger.lock:
            self.ledger.submitted += 1
            for change in changes:
                if change["op"] == "delete_contact":
                    self.ledger.deleted[change["contact_id"]] = organization.added[
                        change["contact_id"]
                    ]
        reference = body["ticket"]["reference"]
        self._approve(reference)
        self._follow(reference, admin, learn=(organization, changes))
        if rng.random() < 0.15:
            self.client.call(
                "POST",
                "/api/password-reset",
                "/api/password-reset",
                {"email": organization.admin},
            )

    def _approve(self, reference: str) -> None:
        for email in STAFF:
            staff = self._token(email)
            if staff is None:
                continue
            status, _ = self.client.call(
                "POST",
                f"/api/tickets/{reference}/approve",
                "/api/tickets/<reference>/approve",
                token=staff,
            )
            if status != 200:  # 200: the first of two approvals; anything else ends it
                return

    def _follow(
        self,
        reference: str,
        token: str,
        learn: tuple[Organization, list[dict[str, Any]]] | None = None,
    ) -> None:
        """Poll the ticket until it is final (or the follow time runs out)."""
        deadline = time.monotonic() + FOLLOW_SECONDS
        while time.monotonic() < deadline:
            status, body = self.client.call(
                "GET", f"/api/tickets/{reference}", "/api/tickets/<reference>", token=token
            )
            if status == 200 and body["status"] in FINAL:
                if body["status"] == "implemented" and learn is not None:
                    self._learn(*learn, token)
                return
            if self.stop.is_set() and learn is None:
                return
            self._pause(1)

    def _learn(self, organization: Organization, changes: list[dict[str, Any]], token: str) -> None:
        """The ids the batch's new contacts got, from the roster."""
        new = {c["contact"]["email"]: c["contact"] for c in changes if c["op"] == "add_contact"}
        if not new:
            return
        status, roster = self.client.call(
            "GET",
            f"/api/orgs/{organization.slug}/contacts",
            "/api/orgs/<slug>/contacts",
            token=token,
        )
        if status != 200:
            return
        for contact in roster["contacts"]:
            if contact["email"] in new:
                organization.added[contact["id"]] = new[contact["email"]]


def batch(
    organization: Organization, roster: dict[str, Any], rng: random.Random
) -> list[dict[str, Any]]:
    """A valid batch on this roster: one or two new contacts, and now and then a detail change,
    a role granted and the deletion of a contact the load added earlier."""
    active = {c["id"]: c for c in roster["contacts"] if c["status"] == "active"}
    ours = [contact_id for contact_id in organization.added if contact_id in active]
    rng.shuffle(ours)
    changes: list[dict[str, Any]] = []
    for n in range(rng.choice((1, 1, 2))):
        token = f"{rng.getrandbits(40):010x}"
        contact = {
            "salutation": "Mx",
            "first_name": f"Fn{token}",
            "last_name": f"Ln{token}",
            "email": f"soak.{token}@{organization.slug}.example",
            "phone": f"+44 20 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
        }
        changes.append(
            {
                "op": "add_contact",
                "ref": f"n{n}",
                "contact": contact,
                "roles": [rng.choice(("technical", "agreement"))],
            }
        )
    actions: list[Callable[[int], dict[str, Any]]] = []
    if rng.random() < 0.5:
        actions.append(lambda cid: {"op": "delete_contact", "contact_id": cid})
    if rng.random() < 0.4:
        actions.append(
            lambda cid: {
                "op": "update_contact",
                "contact_id": cid,
                "fields": {"job_title": f"Title {rng.randrange(1000)}"},
            }
        )
    if rng.random() < 0.3:
        actions.append(lambda cid: _grant_missing(active[cid], cid))
    for action, contact_id in zip(actions, ours, strict=False):
        change = action(contact_id)
        if change:
            changes.append(change)
    return changes


def _grant_missing(contact: dict[str, Any], contact_id: int) -> dict[str, Any]:
    missing = [role for role in ("technical", "agreement") if role not in contact["roles"]]
    if not missing:
        return {}
    return {"op": "grant_role", "contact_id": contact_id, "role": missing[0]}
