"""Onboarding without a shell: staff create an organization with its first administrator,
rename it and close it (`/api/orgs`), and manage staff accounts (`/api/staff`)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from service.accounts.models import User, UserStatus
from service.contacts.models import Contact, ContactStatus
from service.extensions import db
from service.jobs import pending_work
from service.organizations.models import Delegation, Organization
from service.organizations.tasks import purge_closed_organization
from service.tickets.models import Ticket, TicketStatus
from tests.jobs import bodies, outbox, run_jobs
from tests.tickets.support import (
    NO_MANAGE,
    OUTSIDER,
    REQUESTER,
    STAFF,
    STAFF2,
    new_contact,
    raise_ticket,
)

ADMIN = "olga.owner@newco.example"


def new_org(slug: str = "newco", **changes) -> dict:
    body = {
        "name": "NewCo Holdings",
        "slug": slug,
        "kind": "customer",
        "seat_limit": 5,
        "first_admin": {
            "salutation": "Ms",
            "first_name": "Olga",
            "last_name": "Owner",
            "email": ADMIN,
            "job_title": "Operations Director",
        },
    }
    body.update(changes)
    return body


def first_admin(**fields) -> dict:
    """A `first_admin` change for `new_org`: a short valid one with `fields` changed, a field
    given None left out."""
    admin = {"salutation": "Ms", "first_name": "O", "last_name": "P", "email": ADMIN, **fields}
    return {"first_admin": {name: value for name, value in admin.items() if value is not None}}


def activation_tokens(app, address: str) -> list[str]:
    found = []
    for message in outbox(app):
        if message["To"] == address:
            found += re.findall(r"/activate/([A-Za-z0-9_-]{43,})", bodies(message))
    return list(dict.fromkeys(found))


def test_staff_onboard_a_customer_whose_first_admin_activates_and_manages_it(app, client, factory):
    factory.demo()
    staff = factory.headers(STAFF)
    created = client.post("/api/orgs", json=new_org(), headers=staff)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["slug"] == "newco" and body["kind"] == "customer" and body["status"] == "open"
    assert body["seat_limit"] == 5 and body["active_contacts"] == 1
    assert body["first_admin"]["email"] == ADMIN
    assert body["first_admin"]["account_status"] == "invited"
    listed = client.get("/api/orgs", headers=staff).get_json()["items"]
    assert "newco" in [o["slug"] for o in listed]

    (token,) = activation_tokens(app, ADMIN)
    activated = client.post("/api/activate", json={"token": token, "password": "a fine long pw 1"})
    assert activated.status_code == 200, activated.get_json()
    admin = factory.headers(ADMIN, "a fine long pw 1")
    roster = client.get("/api/orgs/newco/contacts", headers=admin).get_json()
    (olga,) = roster["contacts"]
    # Every required role is held from the start, so the roster breaks no rule.
    assert set(olga["roles"]) == {"cust_admin", "financial"}
    assert olga["account_status"] == "active"
    reference = raise_ticket(
        client, admin, [new_contact(email="nils.next@newco.example")], org="newco"
    )
    assert client.get(f"/api/tickets/{reference}", headers=staff).status_code == 200


def test_a_person_with_an_account_becomes_the_new_organizations_admin_and_signs_in_as_before(
    app, client, factory
):
    """Acme's administrator also runs NewCo: onboarding links their account, which gains a
    membership, and tells them so; no activation link, the same password. A staff address
    cannot be a customer's contact (409 `email_has_account`)."""
    factory.demo()
    staff = factory.headers(STAFF)
    created = client.post(
        "/api/orgs", json=new_org(**first_admin(email=REQUESTER.upper())), headers=staff
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["first_admin"]["account_status"] == "active"
    run_jobs(app)
    (told,) = [m for m in outbox(app) if m["To"] == REQUESTER]
    assert "NewCo Holdings" in bodies(told)
    assert activation_tokens(app, REQUESTER) == []

    admin = factory.headers(REQUESTER)
    memberships = client.get("/api/me", headers=admin).get_json()["memberships"]
    assert {m["organization"] for m in memberships} >= {"acme", "newco"}
    (olga,) = client.get("/api/orgs/newco/contacts", headers=admin).get_json()["contacts"]
    assert olga["account_status"] == "active" and olga["email"] == REQUESTER.upper()
    raise_ticket(client, admin, [new_contact(email="nils.next@newco.example")], org="newco")

    taken = client.post(
        "/api/orgs", json=new_org("staffco", **first_admin(email=STAFF2)), headers=staff
    )
    assert (taken.status_code, taken.get_json()["code"]) == (409, "email_has_account")


def test_a_purchaser_gets_its_partner_admin_role(client, factory):
    factory.demo()
    created = client.post(
        "/api/orgs", json=new_org("partnerco", kind="purchaser"), headers=factory.headers(STAFF)
    )
    assert created.status_code == 201, created.get_json()
    roster = client.get("/api/orgs/partnerco/contacts", headers=factory.headers(STAFF))
    assert roster.get_json()["contacts"][0]["roles"] == ["partner_admin"]


def _org_count(factory) -> int:
    return factory.scalar(select(func.count()).select_from(Organization))


@pytest.mark.parametrize(
    ("changes", "status", "code", "path"),
    [
        ({"slug": "acme"}, 409, "slug_taken", None),
        ({"slug": "Bad Slug"}, 422, "invalid_field", "slug"),
        ({"slug": "trailing-"}, 422, "invalid_field", "slug"),
        ({"kind": "vendor"}, 422, "invalid_field", "kind"),
        ({"name": "NewCo\u202e Holdings"}, 422, "invalid_field", "name"),
        ({"name": ""}, 422, "invalid_field", "name"),
        ({"seat_limit": 0}, 422, "invalid_field", "seat_limit"),
        (first_admin(last_name=None), 422, "missing_field", "first_admin/last_name"),
        (first_admin(email="not an email"), 422, "invalid_field", "first_admin/email"),
        (
            first_admin(roles=["financial", "technical"]),
            422,
            "admin_role_missing",
            "first_admin/roles",
        ),
        (first_admin(roles=["cust_admin"]), 422, "required_role_missing", "first_admin/roles"),
        (first_admin(roles=["no_such_role", "cust_admin", "financial"]), 422, "unknown_role", None),
        (first_admin(email=STAFF2), 409, "email_has_account", None),
        ({"surprise": 1}, 422, "unknown_field", "surprise"),
    ],
)
def test_bad_onboarding_input_is_refused_with_a_stable_code_and_stores_nothing(
    client, factory, changes, status, code, path
):
    factory.demo()
    before = _org_count(factory)
    answer = client.post("/api/orgs", json=new_org(**changes), headers=factory.headers(STAFF))
    assert answer.status_code == status, answer.get_json()
    body = answer.get_json()
    found = [(e["code"], e["path"]) for e in body["errors"]] or [(body["code"], None)]
    assert any(c == code and (path is None or p == path) for c, p in found), found
    assert _org_count(factory) == before
    assert factory.scalar(select(func.count()).select_from(User).where(User.email == ADMIN)) == 0


def test_staff_rename_an_organization_its_short_name_stays(client, factory):
    factory.demo()
    staff = factory.headers(STAFF)
    renamed = client.patch("/api/orgs/acme", json={"name": "Acme Gadgets plc"}, headers=staff)
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Acme Gadgets plc"
    assert client.get("/api/orgs/acme", headers=staff).get_json()["name"] == "Acme Gadgets plc"
    assert client.patch("/api/orgs/acme", json={}, headers=staff).status_code == 422
    bad = client.patch("/api/orgs/acme", json={"name": "A\u0000"}, headers=staff)
    assert bad.status_code == 422


def test_closing_refuses_new_requests_ends_delegations_and_keeps_the_tickets(app, client, factory):
    factory.demo()
    staff, admin = factory.headers(STAFF), factory.headers(REQUESTER)
    reference = raise_ticket(client, admin, [{"op": "grant_delegate", "organization": "buyco"}])
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    run_jobs(app)
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]

    closed = client.post("/api/orgs/acme/close", headers=staff)
    assert closed.status_code == 202, closed.get_json()
    assert closed.get_json()["status"] == "closed" and closed.get_json()["closed_at"]
    run_jobs(app)

    body = {"base_version": version + 1, "changes": [new_contact()]}
    for url in ("/api/orgs/acme/change-requests", "/api/orgs/acme/change-requests/validate"):
        # The admin's account went with the purge; staff read the organization still.
        assert client.post(url, json=body, headers=admin).status_code == 401
    assert (
        factory.scalar(
            select(func.count()).select_from(Delegation).where(Delegation.revoked_at.is_(None))
        )
        == 0
    )
    left = factory.all(select(Contact.status).where(Contact.organization_id == _acme_id(factory)))
    assert left and {row[0] for row in left} == {ContactStatus.ARCHIVED}
    ticket = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    assert ticket["status"] == "implemented" and ticket["events"]
    again = client.post("/api/orgs/acme/close", headers=staff)
    assert (again.status_code, again.get_json()["code"]) == (409, "organization_closed")
    renamed = client.patch("/api/orgs/acme", json={"name": "Other"}, headers=staff)
    assert (renamed.status_code, renamed.get_json()["code"]) == (409, "organization_closed")


def _acme_id(factory) -> int:
    return factory.scalar(select(Organization.id).where(Organization.slug == "acme"))


def test_a_closed_organization_refuses_requests_with_a_stable_code(app, client, factory):
    factory.demo()
    admin = factory.headers(REQUESTER)
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]
    # Closed, its purge not yet run (a worker is busy): its admins are still signed in.
    factory.execute(
        update(Organization).where(Organization.slug == "acme").values(closed_at=func.now())
    )
    body = {"base_version": version, "changes": [new_contact()]}
    refused = client.post("/api/orgs/acme/change-requests", json=body, headers=admin)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "organization_closed")
    dry = client.post("/api/orgs/acme/change-requests/validate", json=body, headers=admin)
    assert dry.status_code == 200
    assert dry.get_json()["valid"] is False
    assert "organization_closed" in [e["code"] for e in dry.get_json()["errors"]]
    # The purge is recorded work: the sweep finds it until every contact is archived.
    work = purge_closed_organization.work(_acme_id(factory))
    assert work in _pending(app)
    with app.app_context():
        assert purge_closed_organization(work.target_id) == "done"
    assert work not in _pending(app)
    with app.app_context():
        assert purge_closed_organization(work.target_id) == "nothing to do"


def _pending(app):
    with app.app_context():
        try:
            return pending_work(db.session())
        finally:
            db.session.rollback()


def test_a_batch_approved_before_the_close_fails_instead_of_applying(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    factory.execute(
        update(Organization).where(Organization.slug == "acme").values(closed_at=func.now())
    )
    assert (
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)).status_code
        == 202
    )
    run_jobs(app)
    ticket = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert ticket["status"] == "failed"
    assert ticket["failure"]["code"] == "organization_closed"


def test_closing_is_refused_while_a_request_is_unfinished_and_for_the_vendor(client, factory):
    factory.demo()
    staff = factory.headers(STAFF)
    raise_ticket(client, factory.headers(REQUESTER))
    pending = client.post("/api/orgs/acme/close", headers=staff)
    assert (pending.status_code, pending.get_json()["code"]) == (409, "request_pending")
    vendor = client.post("/api/orgs/vendor/close", headers=staff)
    assert (vendor.status_code, vendor.get_json()["code"]) == (409, "cannot_close")
    assert factory.scalar(select(Organization.closed_at).where(Organization.slug == "acme")) is None


# --- staff accounts ---------------------------------------------------------------------------

NEW_STAFF = "sam.support@vendor.example"


def test_staff_with_staff_manage_add_a_staff_account_that_activates_and_reviews(
    app, client, factory
):
    factory.demo()
    manager = factory.headers(STAFF)
    added = client.post("/api/staff", json={"email": NEW_STAFF}, headers=manager)
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["status"] == "invited" and added.get_json()["permissions"] == []
    (token,) = activation_tokens(app, NEW_STAFF)
    assert (
        client.post(
            "/api/activate", json={"token": token, "password": "staff pw is long 9"}
        ).status_code
        == 200
    )
    sam = factory.headers(NEW_STAFF, "staff pw is long 9")
    me = client.get("/api/me", headers=sam).get_json()
    assert me["staff"] is True
    assert client.get("/api/tickets", headers=sam).status_code == 200
    # Without staff:manage, Sam reviews but does not manage staff.
    assert client.get("/api/staff", headers=sam).status_code == 403
    listed = client.get("/api/staff", headers=manager).get_json()["items"]
    assert {s["email"] for s in listed} >= {STAFF, STAFF2, NEW_STAFF}
    taken = client.post("/api/staff", json={"email": NEW_STAFF.upper()}, headers=manager)
    assert (taken.status_code, taken.get_json()["code"]) == (409, "email_has_account")


def test_a_deactivated_staff_account_is_signed_out_and_cannot_sign_in(client, factory):
    factory.demo()
    manager = factory.headers(STAFF)
    staff2 = factory.headers(STAFF2)
    staff2_id = factory.scalar(select(User.id).where(User.email == STAFF2))
    done = client.post(f"/api/staff/{staff2_id}/deactivate", headers=manager)
    assert done.status_code == 200 and done.get_json()["status"] == "deactivated"
    assert client.get("/api/tickets", headers=staff2).status_code == 401
    signed_in = client.post("/api/auth/token", json={"email": STAFF2, "password": "demo-password"})
    assert signed_in.status_code == 401
    assert client.post(f"/api/staff/{staff2_id}/deactivate", headers=manager).status_code == 200
    me = factory.scalar(select(User.id).where(User.email == STAFF))
    own = client.post(f"/api/staff/{me}/deactivate", headers=manager)
    assert (own.status_code, own.get_json()["code"]) == (409, "cannot_deactivate_self")
    assert factory.scalar(select(User.status).where(User.email == STAFF)) == UserStatus.ACTIVE


def test_staff_account_input_is_checked(client, factory):
    factory.demo()
    manager = factory.headers(STAFF)
    for body in (
        {"email": "not an address"},
        {"email": NEW_STAFF, "permissions": ["contacts:manage"]},
        {"email": NEW_STAFF, "extra": True},
        {"email": "sam\u202e@vendor.example"},
    ):
        assert client.post("/api/staff", json=body, headers=manager).status_code == 422, body


# --- who may: every new endpoint without a token (401), without the right (403), and on an
# organization or account that is not the caller's (404) ---------------------------------------


def test_onboarding_endpoints_answer_401_403_and_404(client, factory):
    factory.demo()
    admin, outsider = factory.headers(REQUESTER), factory.headers(OUTSIDER)
    reader = factory.headers(NO_MANAGE)
    calls = [
        ("get", "/api/orgs", None),
        ("post", "/api/orgs", new_org()),
        ("post", "/api/orgs/acme/close", None),
        ("patch", "/api/orgs/acme", {"name": "Renamed"}),
        ("get", "/api/staff", None),
        ("post", "/api/staff", {"email": NEW_STAFF}),
        ("post", "/api/staff/1/deactivate", None),
    ]
    for method, url, body in calls:
        assert getattr(client, method)(url, json=body).status_code == 401, url
        for who in (admin, reader):
            assert getattr(client, method)(url, json=body, headers=who).status_code == 403, url
    # Another organization's admin does not see acme at all.
    for method, url, body in calls[2:4]:
        assert getattr(client, method)(url, json=body, headers=outsider).status_code == 404, url
    # staff:manage is a permission of its own: other staff get 403.
    staff2 = factory.headers(STAFF2)
    for method, url, body in calls[4:]:
        assert getattr(client, method)(url, json=body, headers=staff2).status_code == 403, url
    # A customer's account, or an id of nobody, is not a staff account.
    manager = factory.headers(STAFF)
    customer_id = factory.scalar(select(User.id).where(User.email == REQUESTER))
    for user_id in (customer_id, 999_999):
        missing = client.post(f"/api/staff/{user_id}/deactivate", headers=manager)
        assert (missing.status_code, missing.get_json()["code"]) == (404, "staff_not_found")
    assert client.post("/api/orgs/nope/close", headers=manager).status_code == 404
    assert factory.scalar(select(Ticket.id).where(Ticket.status == TicketStatus.OPEN)) is None
