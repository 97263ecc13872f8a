"""The roster's maintained counts: kept by every writer, checked and repaired by a command, and
a large demo organization seeded set-wise."""

from __future__ import annotations

from sqlalchemy import insert, select, text, update

from service.contacts import counts
from service.contacts.models import RosterCount
from service.extensions import db
from service.organizations.models import Organization
from service.validators.types import CountKey
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, new_contact, raise_ticket


def stored(app, slug="acme"):
    with app.app_context():
        org_id = db.session.scalar(select(Organization.id).where(Organization.slug == slug))
        return counts.read(session=db.session, org_id=org_id).counts


def test_an_applied_batch_moves_the_counts_as_a_recount_does(app, client, factory):
    factory.demo()
    ids = contact_ids(factory)
    before = stored(app)
    assert before[CountKey("active")] == 7 and before[CountKey("deactivated")] == 1
    assert before[CountKey("active", "cust_admin")] == 2
    changes = [
        new_contact(),
        {"op": "grant_role", "ref": "n1", "role": "agreement"},
        {"op": "revoke_role", "contact_id": ids["frank.fischer"], "role": "cust_admin"},
        {"op": "grant_role", "contact_id": ids["frank.fischer"], "role": "technical"},
        {"op": "grant_role", "contact_id": ids["devon.tran"], "role": "management"},
        {"op": "deactivate_contact", "contact_id": ids["erin.okafor"]},
        {"op": "reactivate_contact", "contact_id": ids["hugo.hart"]},
        {"op": "delete_contact", "contact_id": ids["grace.gill"]},
    ]
    reference = raise_ticket(client, factory.headers(REQUESTER), changes)
    for staff in (STAFF, STAFF2):
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(staff))
    run_jobs(app)
    assert (
        client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()["status"]
        == "implemented"
    )
    after = stored(app)
    assert after[CountKey("active")] == 7  # +Nia +Hugo -Erin -Grace
    assert after[CountKey("deactivated")] == 1  # Erin instead of Hugo
    assert after[CountKey("active", "cust_admin")] == 1
    assert after[CountKey("active", "management")] == 3  # +Devon -Grace
    assert after[CountKey("active", "technical")] == 4  # Nia, Devon, Hugo, Frank; not Erin
    assert after[CountKey("deactivated", "agreement")] == 1  # Erin
    # And nothing else moved: the recount agrees everywhere (checked after every test too).
    with app.app_context():
        assert counts.check(session=db.session) == []


def test_counters_check_reports_drift_and_repair_puts_it_right(app, factory):
    factory.demo()
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["counters", "check"])
    assert clean.exit_code == 0, clean.output
    assert "match a recount" in clean.output
    with app.app_context():
        acme = db.session.scalar(select(Organization.id).where(Organization.slug == "acme"))
        db.session.execute(
            update(RosterCount)
            .where(RosterCount.organization_id == acme, RosterCount.role_code == "financial")
            .values(n=RosterCount.n + 3)
        )
        db.session.execute(
            insert(RosterCount).values(
                organization_id=acme, status="deactivated", role_code="cust_admin", n=2
            )
        )
        db.session.execute(
            text("DELETE FROM roster_counts WHERE role_code = '' AND status = 'active'")
        )
        db.session.commit()

    drifted = runner.invoke(args=["counters", "check"])
    assert drifted.exit_code == 1
    assert drifted.output.splitlines() == [
        "acme: active contacts: stored 0, counted 7",
        "acme: active holders of financial: stored 4, counted 1",
        "acme: deactivated holders of cust_admin: stored 2, counted 0",
        "buyco: active contacts: stored 0, counted 2",
    ]
    repaired = runner.invoke(args=["counters", "repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "(4 repaired)" in repaired.output
    assert runner.invoke(args=["counters", "check"]).exit_code == 0
    assert stored(app)[CountKey("active", "financial")] == 1


def test_seed_demo_builds_a_large_organization_set_wise_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--contacts", "300", "--org", "bigco"])
    assert first.exit_code == 0, first.output
    assert "bigco: 300 contacts (300 added)" in first.output
    again = runner.invoke(args=["seed-demo", "--contacts", "300", "--org", "bigco"])
    assert "bigco: 300 contacts (0 added)" in again.output
    token = client.post(
        "/api/auth/token", json={"email": "admin@bigco.example", "password": "demo-password"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    page = client.get(
        "/api/orgs/bigco/contacts", query_string={"limit": 10}, headers=headers
    ).get_json()
    assert page["total"] == 300
    assert page["holders"]["cust_admin"] == 1 and page["holders"]["financial"] >= 1
    whole = client.get("/api/orgs/bigco/contacts", headers=headers).get_json()["contacts"]
    assert len(whole) == 300
    assert len({c["email"] for c in whole}) == 300
    assert {c["status"] for c in whole} == {"active", "deactivated"}
    assert {c["account_status"] for c in whole} == {"none", "invited", "active"}
    assert all(c["roles"] for c in whole)
    # Its only administrator cannot lose the role: the counts the rules read are there.
    admin = next(c for c in whole if c["email"] == "admin@bigco.example")
    revoke = {"op": "revoke_role", "contact_id": admin["id"], "role": "cust_admin"}
    check = client.post(
        "/api/orgs/bigco/change-requests/validate",
        json={"base_version": 1, "changes": [revoke]},
        headers=headers,
    ).get_json()
    assert [(e["code"], e["path"]) for e in check["errors"]] == [
        ("required_role_missing", "changes/0")
    ]
