"""Onboarding from outside: staff create a customer organization over HTTP, its first
administrator activates with the link a real SMTP server received and submits a batch; the
same setup from `flask --app service orgs|staff`; and closing purges like deleting does."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.organizations.models import Organization
from tests.demo_ids import contact_ids
from tests.jobs import bodies, run_jobs
from tests.live_server import live_server, request_json
from tests.purge.test_personal_data_purge import dump_everything
from tests.tickets.support import REQUESTER, STAFF, new_contact, raise_ticket

ADMIN = "petra.prime@freshco.example"
PASSWORD = "a long enough secret 7"


def test_a_new_customer_onboarded_by_staff_activates_from_the_email_and_submits(app, factory, smtp):
    factory.demo()
    with live_server(app) as base:
        staff = factory.headers(STAFF)
        status, created = request_json(
            "POST",
            f"{base}/api/orgs",
            {
                "name": "FreshCo Foods Ltd",
                "slug": "freshco",
                "kind": "customer",
                "seat_limit": 10,
                "first_admin": {
                    "salutation": "Dr",
                    "first_name": "Petra",
                    "last_name": "Prime",
                    "email": ADMIN,
                },
            },
            staff,
        )
        assert status == 201, created
        run_jobs(app)
        (message,) = [m for m in smtp.messages() if m["To"] == ADMIN]
        assert "FreshCo Foods Ltd" in str(message["Subject"])
        (token,) = set(re.findall(r"/activate/([A-Za-z0-9_-]{43,})", bodies(message)))
        status, _ = request_json(
            "POST", f"{base}/api/activate", {"token": token, "password": PASSWORD}
        )
        assert status == 200
        status, signed_in = request_json(
            "POST", f"{base}/api/auth/token", {"email": ADMIN, "password": PASSWORD}
        )
        assert status == 200
        admin = {"Authorization": f"Bearer {signed_in['token']}"}
        status, me = request_json("GET", f"{base}/api/me", headers=admin)
        assert status == 200 and "freshco" in me["manages"]
        status, roster = request_json("GET", f"{base}/api/orgs/freshco/contacts", headers=admin)
        assert status == 200
        batch = {
            "base_version": roster["version"],
            "changes": [new_contact(email="quinn.quick@freshco.example")],
        }
        status, submitted = request_json(
            "POST", f"{base}/api/orgs/freshco/change-requests", batch, admin
        )
        assert status == 201, submitted
        reference = submitted["ticket"]["reference"]
        status, approved = request_json(
            "POST", f"{base}/api/tickets/{reference}/approve", headers=staff
        )
        assert status == 202, approved
        run_jobs(app)
        status, roster = request_json("GET", f"{base}/api/orgs/freshco/contacts", headers=admin)
        assert sorted(c["email"] for c in roster["contacts"]) == sorted(
            [ADMIN, "quinn.quick@freshco.example"]
        )


def test_the_commands_onboard_rename_and_close_an_organization_and_manage_staff(app, factory):
    factory.demo()
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=[
            "orgs", "create", "--slug", "clico", "--name", "CLI Co", "--seat-limit", "3",
            "--admin-email", "cara.cli@clico.example", "--admin-salutation", "Ms",
            "--admin-first-name", "Cara", "--admin-last-name", "Cli",
        ]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    refused = runner.invoke(
        args=[
            "orgs", "create", "--slug", "clico", "--name", "Again", "--admin-email",
            "x@clico.example", "--admin-salutation", "Ms", "--admin-first-name", "X",
            "--admin-last-name", "Y",
        ]
    )  # fmt: skip
    assert refused.exit_code == 1 and "slug_taken" in refused.output
    bad = runner.invoke(args=["orgs", "rename", "clico", "bad\u202ename"])
    assert bad.exit_code == 1 and "name" in bad.output
    assert runner.invoke(args=["orgs", "rename", "clico", "CLI Company"]).exit_code == 0
    listed = runner.invoke(args=["orgs", "list"]).output
    assert "clico\tcustomer\topen\t1/3\tCLI Company" in listed
    closed = runner.invoke(args=["orgs", "close", "clico", "--yes"])
    assert closed.exit_code == 0, closed.output
    run_jobs(app)
    assert "clico\tcustomer\tclosed\t0/3" in runner.invoke(args=["orgs", "list"]).output
    assert runner.invoke(args=["orgs", "close", "nope", "--yes"]).exit_code == 1

    added = runner.invoke(args=["staff", "add", "tess.team@vendor.example", "--manage-staff"])
    assert added.exit_code == 0, added.output
    assert (
        "tess.team@vendor.example\tinvited\tstaff:manage"
        in runner.invoke(args=["staff", "list"]).output
    )
    assert runner.invoke(args=["staff", "deactivate", "TESS.team@vendor.example"]).exit_code == 0
    assert "tess.team@vendor.example\tdeactivated" in runner.invoke(args=["staff", "list"]).output
    assert runner.invoke(args=["staff", "deactivate", REQUESTER]).exit_code == 1


def test_closing_erases_every_contacts_data_as_deleting_does(app, client, factory):
    factory.demo()
    ids = contact_ids(factory)
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    raise_ticket(
        client,
        admin,
        [
            {
                "op": "update_contact",
                "contact_id": ids["boris.banks"],
                "fields": {"mobile": "+44 7700 900555"},
            }
        ],
    )
    reference = client.get("/api/tickets", headers=staff).get_json()["items"][0]["reference"]
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    run_jobs(app)
    client.post(f"/api/tickets/{reference}/comments", json={"body": "Done, thanks."}, headers=admin)
    assert client.post("/api/orgs/acme/close", headers=staff).status_code == 202
    run_jobs(app)
    everything = dump_everything(app).lower()
    for value in (
        "ackland",
        "boris",
        "banks",
        "conti",
        "admin@acme.example",
        "7946 0101",
        "900555",
    ):
        assert value not in everything, value
    ticket = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    assert ticket["status"] == "implemented"
    assert [c["body"] for c in ticket["comments"]] == ["Done, thanks."]
    assert factory.scalar(select(Organization.name).where(Organization.slug == "acme"))
