"""Staff approving the same ticket at the same moment: exactly one approval wins, and a ticket
that needs two approvals is approved, and applied, exactly once."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from service.tickets.models import TicketEvent
from tests.jobs import run_jobs
from tests.live_server import live_server, request_json
from tests.tickets.support import REQUESTER, new_contact, raise_ticket

REVIEWERS = 6


def test_simultaneous_approvals_by_different_staff_give_exactly_one_202(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    staff = [f"reviewer{i}@vendor.example" for i in range(REVIEWERS)]
    for email in staff:
        factory.staff(email)
    headers = [{"Authorization": f"Bearer {factory.token(email)}"} for email in staff]
    start = threading.Barrier(REVIEWERS)

    def approve(i: int) -> tuple[int, dict]:
        start.wait()
        return request_json("POST", f"{base}/api/tickets/{reference}/approve", {}, headers[i])

    with live_server(app) as base, ThreadPoolExecutor(REVIEWERS) as pool:
        results = list(pool.map(approve, range(REVIEWERS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [202] + [409] * (REVIEWERS - 1), results
    assert {body["code"] for status, body in results if status == 409} == {"invalid_transition"}
    approvals = factory.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "approved")
    )
    assert approvals == 1


# Rounds of the four-eyes race; RACE_ROUNDS=200 explores further.
ROUNDS = int(os.environ.get("RACE_ROUNDS", "8"))


def four_eyes_ticket(client, factory, round_no: int) -> str:
    """A ticket of its own organization that needs two approvals: it takes a required role
    (financial) away from a contact."""
    org = factory.org(f"race{round_no}")
    admin = f"admin{round_no}@race.example"
    factory.contact(org, admin, ["cust_admin", "financial"], account="active")
    victim = factory.contact(org, f"vic{round_no}@race.example", ["financial", "technical"])
    changes = [{"op": "revoke_role", "contact_id": victim, "role": "financial"}]
    reference = raise_ticket(client, factory.headers(admin), changes, org=f"race{round_no}")
    return reference


def test_two_required_staff_approving_a_four_eyes_ticket_at_once_apply_it_once(
    app, client, factory
):
    staff = ["first.eye@vendor.example", "second.eye@vendor.example"]
    for email in staff:
        factory.staff(email)
    headers = [{"Authorization": f"Bearer {factory.token(email)}"} for email in staff]
    references = [four_eyes_ticket(client, factory, n) for n in range(ROUNDS)]
    for reference in references[:1]:
        detail = client.get(f"/api/tickets/{reference}", headers=headers[0]).get_json()
        assert detail["approvals_required"] == 2

    with live_server(app) as base, ThreadPoolExecutor(2) as pool:
        for reference in references:
            start = threading.Barrier(2)

            def approve(i: int, reference: str = reference, start=start) -> tuple[int, dict]:
                start.wait()
                return request_json(
                    "POST", f"{base}/api/tickets/{reference}/approve", {}, headers[i]
                )

            results = list(pool.map(approve, range(2)))
            statuses = sorted(status for status, _ in results)
            assert statuses == [200, 202], (reference, results)
            later = next(body for status, body in results if status == 202)
            assert len(later["approvals"]) == 2
            # Applied already where jobs run in-process after commit (SQLite).
            assert later["status"] in ("approved", "applying", "implemented")

    run_jobs(app)
    for reference in references:
        detail = client.get(f"/api/tickets/{reference}", headers=headers[0]).get_json()
        assert detail["status"] == "implemented", (reference, detail["status"])
        assert sorted(a["by"] for a in detail["approvals"]) == sorted(staff)
        actions = [e["action"] for e in detail["events"]]
        assert actions.count("approved") == 1 and actions.count("approval_recorded") == 1
        assert actions.count("implemented") == 1


def test_an_approval_and_an_amendment_at_once_never_approve_an_unseen_revision(
    app, client, factory
):
    """Staff approve revision 1 (naming it) while the requester amends it to revision 2: one of
    them runs first, every round. Approved first: the amendment is refused, revision 1 applies.
    Amended first: the approval is refused (`revision_changed`), and nothing is approved."""
    staff = "reviewer@vendor.example"
    factory.staff(staff)
    reviewer = {"Authorization": f"Bearer {factory.token(staff)}"}
    rounds = []
    for n in range(ROUNDS):
        org = factory.org(f"amend{n}")
        admin = f"admin{n}@amend.example"
        factory.contact(org, admin, ["cust_admin", "financial"], account="active")
        headers = factory.headers(admin)
        reference = raise_ticket(client, headers, org=f"amend{n}")
        version = client.get(f"/api/orgs/amend{n}/contacts", headers=headers).get_json()["version"]
        body = {"base_version": version, "changes": [new_contact("n2", f"n2.{n}@amend.example")]}
        rounds.append((reference, headers, body))

    with live_server(app) as base, ThreadPoolExecutor(2) as pool:
        for reference, headers, body in rounds:
            start = threading.Barrier(2)
            calls = [
                ("approve", {"revision": 1}, reviewer),
                ("amend", body, headers),
            ]

            def act(i: int, reference: str = reference, start=start, calls=calls):
                action, payload, who = calls[i]
                start.wait()
                return request_json(
                    "POST", f"{base}/api/tickets/{reference}/{action}", payload, who
                )

            (approved, approval), (amended, amendment) = pool.map(act, range(2))
            if approved == 202:
                assert (amended, amendment["code"]) == (409, "invalid_transition"), amendment
            else:
                assert (approved, approval["code"]) == (409, "revision_changed"), approval
                assert amended == 200, amendment
            detail = client.get(f"/api/tickets/{reference}", headers=reviewer).get_json()
            if detail["revision"] == 2:
                assert (detail["status"], detail["approvals"]) == ("open", []), detail
            else:
                assert detail["status"] in ("approved", "applying", "implemented"), detail
