"""Random batches on a random roster, through the API: the dry run that reads only what the batch
touches (`?projected=changed`) and the one that projects the whole roster agree, their counts
are a recount of the whole roster after the batch, and every applied batch leaves the stored
counts equal to a recount. Then the same questions at 50,000 contacts."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from service.contacts.models import Contact, ContactRole
from service.demo import seed_large
from service.extensions import db
from service.organizations.models import Organization
from service.vocabulary import ContactStatus
from tests.jobs import run_jobs

ROLES = ["management", "cust_admin", "financial", "agreement", "technical"]
URL = "/api/orgs/{slug}/change-requests"


def recounted(contacts: list[dict[str, Any]]) -> tuple[int, dict[str, int]]:
    """Active contacts and active holders of each role, counted from a whole roster."""
    active = [c for c in contacts if c["status"] == "active"]
    holders = Counter(code for c in active for code in c["roles"])
    return len(active), {code: holders[code] for code in ROLES}


def random_batch(
    rng: random.Random, contacts: list[dict[str, Any]], round_no: int
) -> list[dict[str, Any]]:
    """Mostly sensible items on distinct contacts (so that many batches are valid), and now and
    then a careless one: a role held already, a taken email, a contact twice."""
    picked = rng.sample(contacts, min(len(contacts), rng.randint(1, 6)))
    changes: list[dict[str, Any]] = []
    for i, contact in enumerate(picked):
        careless = rng.random() < 0.15
        kind = rng.choice(["add", "update", "role", "role", "status", "delete"])
        if kind == "add":
            email = "p3@acme.example" if careless else f"r{round_no}-{i}@acme.example"
            changes.append(
                {
                    "op": "add_contact",
                    "ref": f"n{i}",
                    "contact": {
                        "salutation": "Ms",
                        "first_name": "New",
                        "last_name": f"Person{i}",
                        "email": email,
                    },
                    "roles": rng.sample(ROLES, rng.randint(1, 2)),
                }
            )
            if rng.random() < 0.3:
                changes.append({"op": "grant_role", "ref": f"n{i}", "role": "cust_admin"})
        elif kind == "update":
            email = "p2@acme.example" if careless else f"u{round_no}-{i}@acme.example"
            changes.append(
                {"op": "update_contact", "contact_id": contact["id"], "fields": {"email": email}}
            )
        elif kind == "role":
            held = set(contact["roles"])
            grant = careless or not held or (rng.random() < 0.5 and held != set(ROLES))
            choices = [r for r in ROLES if (r not in held) == grant] or ROLES
            op = "grant_role" if grant else "revoke_role"
            changes.append({"op": op, "contact_id": contact["id"], "role": rng.choice(choices)})
        elif kind == "status":
            active = contact["status"] == "active"
            op = "deactivate_contact" if active != careless else "reactivate_contact"
            changes.append({"op": op, "contact_id": contact["id"]})
        else:
            changes.append({"op": "delete_contact", "contact_id": contact["id"]})
    return changes


def agree(
    client, headers, slug: str, changes: list[dict[str, Any]], version: int
) -> dict[str, Any]:
    """Both dry runs say the same, and the narrow one's counts are the whole roster recounted;
    the narrow one's answer."""
    body = {"base_version": version, "changes": changes}
    url = URL.format(slug=slug) + "/validate"
    whole = client.post(url, json=body, headers=headers).get_json()
    narrow = client.post(url + "?projected=changed", json=body, headers=headers).get_json()
    assert (narrow["errors"], narrow["warnings"]) == (whole["errors"], whole["warnings"])
    assert set(whole["projected"]) == {"contacts"}
    active, holders = recounted(whole["projected"]["contacts"])
    assert narrow["projected"]["active_contacts"] == active
    assert {code: narrow["projected"]["holders"][code] for code in ROLES} == holders
    listed = {c["id"]: c for c in whole["projected"]["contacts"] if c["id"] is not None}
    for contact in narrow["projected"]["contacts"]:
        if contact["id"] is not None and contact["status"] != "archived":
            assert listed[contact["id"]] == contact
    return narrow


def roster(client, headers, slug: str) -> dict[str, Any]:
    return client.get(f"/api/orgs/{slug}/contacts", headers=headers).get_json()


def stored_counts_agree(client, headers, slug: str) -> None:
    body = roster(client, headers, slug)
    page = client.get(
        f"/api/orgs/{slug}/contacts", query_string={"limit": 1}, headers=headers
    ).get_json()
    active, holders = recounted(body["contacts"])
    assert {code: page["holders"][code] for code in ROLES} == holders
    assert page["total"] == len(body["contacts"])
    assert (
        client.get(
            f"/api/orgs/{slug}/contacts",
            query_string={"limit": 1, "status": "active"},
            headers=headers,
        ).get_json()["total"]
        == active
    )


def test_random_batches_are_checked_alike_and_applied_batches_keep_the_counts(app, client, factory):
    rng = random.Random(1414)
    org = factory.org("acme", seat_limit=24)
    factory.contact(org, "admin@acme.example", ["cust_admin", "management"], account="active")
    for i in range(20):
        factory.contact(
            org,
            f"p{i}@acme.example",
            rng.sample(ROLES, rng.randint(1, 2)),
            status="deactivated" if i % 6 == 5 else "active",
            account="invited" if i % 4 == 0 else None,
        )
    factory.staff("staff@vendor.example")
    factory.staff("staff2@vendor.example")
    admin = factory.headers("admin@acme.example")
    staff = [factory.headers("staff@vendor.example"), factory.headers("staff2@vendor.example")]
    applied = 0
    for round_no in range(40):
        body = roster(client, admin, "acme")
        others = [c for c in body["contacts"] if c["email"] != "admin@acme.example"]
        changes = random_batch(rng, others, round_no)
        if not agree(client, admin, "acme", changes, body["version"])["valid"]:
            continue
        created = client.post(
            URL.format(slug="acme"),
            json={"base_version": body["version"], "changes": changes},
            headers=admin,
        )
        assert created.status_code == 201, created.get_json()
        reference = created.get_json()["ticket"]["reference"]
        for headers in staff:
            client.post(f"/api/tickets/{reference}/approve", headers=headers)
        run_jobs(app)
        status = client.get(f"/api/tickets/{reference}", headers=staff[0]).get_json()["status"]
        assert status == "implemented"
        applied += 1
        stored_counts_agree(client, admin, "acme")
    assert applied >= 10


def sql_recount(app, slug: str) -> tuple[int, dict[str, int]]:
    """Active contacts and active holders of each role, counted in the database."""
    with app.app_context():
        org_id = db.session.scalar(select(Organization.id).where(Organization.slug == slug))
        rows = db.session.execute(
            select(Contact.status, ContactRole.role_code)
            .outerjoin(ContactRole, ContactRole.contact_id == Contact.id)
            .where(Contact.organization_id == org_id, Contact.status == ContactStatus.ACTIVE)
        ).all()
    holders = Counter(role for _, role in rows if role)
    active = db_count_active(app, org_id)
    return active, {code: holders[code] for code in ROLES}


def db_count_active(app, org_id: int) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(Contact)
                .where(Contact.organization_id == org_id, Contact.status == ContactStatus.ACTIVE)
            )
            or 0
        )


def first_of(app, slug: str, *conditions: Any) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(Contact.id)
                .join(Organization, Organization.id == Contact.organization_id)
                .where(Organization.slug == slug, *conditions)
                .order_by(Contact.id)
                .limit(1)
            )
        )


def test_at_fifty_thousand_contacts_the_answers_match_a_full_recount(app, client, factory):
    with app.app_context():
        seed_large(session=db.session, slug="bigco", contacts=50_000, password="big-password")
        db.session.commit()
    token = client.post(
        "/api/auth/token", json={"email": "admin@bigco.example", "password": "big-password"}
    ).get_json()["token"]
    admin = {"Authorization": f"Bearer {token}"}
    active, holders = sql_recount(app, "bigco")
    assert active > 45_000

    query = {"limit": 50, "role": "financial", "status": "active"}
    page = client.get("/api/orgs/bigco/contacts", query_string=query, headers=admin).get_json()
    assert page["total"] == holders["financial"]
    assert {code: page["holders"][code] for code in ROLES} == holders
    with app.app_context():
        expected = db.session.scalars(
            select(Contact.id)
            .join(ContactRole, ContactRole.contact_id == Contact.id)
            .join(Organization, Organization.id == Contact.organization_id)
            .where(
                Organization.slug == "bigco",
                Contact.status == ContactStatus.ACTIVE,
                ContactRole.role_code == "financial",
            )
            .order_by(func.lower(Contact.last_name), func.lower(Contact.first_name), Contact.id)
            .limit(50)
        ).all()
    assert [c["id"] for c in page["contacts"]] == expected

    with app.app_context():
        admins = db.session.scalars(
            select(ContactRole.contact_id)
            .join(Contact, Contact.id == ContactRole.contact_id)
            .join(Organization, Organization.id == Contact.organization_id)
            .where(Organization.slug == "bigco", ContactRole.role_code == "cust_admin")
            .order_by(ContactRole.contact_id)
        ).all()
    assert len(admins) == holders["cust_admin"] > 1
    someone = first_of(
        app, "bigco", Contact.status == ContactStatus.ACTIVE, Contact.id != admins[0]
    )
    asleep = first_of(app, "bigco", Contact.status == ContactStatus.DEACTIVATED)
    with app.app_context():
        taken = db.session.scalar(select(Contact.email).where(Contact.id == someone))
    version = page["version"]
    # Every administrator loses the role, a contact comes back, a new one has a taken email.
    revokes = [{"op": "revoke_role", "contact_id": cid, "role": "cust_admin"} for cid in admins]
    copy_cat = {
        "op": "add_contact",
        "ref": "n1",
        "contact": {
            "salutation": "Ms",
            "first_name": "Copy",
            "last_name": "Cat",
            "email": str(taken).upper(),
        },
        "roles": ["technical"],
    }
    refused = [*revokes, {"op": "reactivate_contact", "contact_id": asleep}, copy_cat]
    assert not agree(client, admin, "bigco", refused, version)["valid"]
    answer = client.post(
        URL.format(slug="bigco"), json={"base_version": version, "changes": refused}, headers=admin
    )
    assert answer.status_code == 422
    assert [(e["code"], e["path"]) for e in answer.get_json()["errors"]] == [
        ("required_role_missing", f"changes/{len(admins) - 1}"),
        ("duplicate_email", f"changes/{len(admins) + 1}/contact/email"),
    ]
    # One administrator fewer, the contact back, the new one with an email of its own.
    accepted = [
        revokes[0],
        {"op": "reactivate_contact", "contact_id": asleep},
        {**copy_cat, "contact": {**copy_cat["contact"], "email": "copy.cat@bigco.example"}},
    ]
    predicted = client.post(
        URL.format(slug="bigco") + "/validate?projected=changed",
        json={"base_version": version, "changes": accepted},
        headers=admin,
    ).get_json()
    assert predicted["valid"], predicted["errors"]
    assert predicted["projected"]["active_contacts"] == active + 2
    assert predicted["projected"]["holders"]["cust_admin"] == holders["cust_admin"] - 1
    created = client.post(
        URL.format(slug="bigco"), json={"base_version": version, "changes": accepted}, headers=admin
    )
    assert created.status_code == 201, created.get_json()
    reference = created.get_json()["ticket"]["reference"]
    for email in ("staff@vendor.example", "staff2@vendor.example"):
        factory.staff(email)
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(email))
    run_jobs(app)
    after = client.get(f"/api/tickets/{reference}", headers=factory.headers(email)).get_json()
    assert after["status"] == "implemented"
    assert sql_recount(app, "bigco") == (
        predicted["projected"]["active_contacts"],
        {code: predicted["projected"]["holders"][code] for code in ROLES},
    )
