"""A role that grants everything but a listed few: the default catalog's main manager is refused
exactly its exceptions and allowed everything else, through the API and `service.access` alike;
staff define such roles through `/api/roles`."""

from __future__ import annotations

from sqlalchemy import select

from service import access
from service.accounts.models import User
from service.accounts.service import actor_of
from service.extensions import db
from service.organizations.models import Organization
from service.vocabulary import ALL_PERMISSIONS, MODULES
from tests.tickets.support import STAFF, new_contact, raise_ticket

MANAGER = "mia.manager@acme.example"
EXCEPTIONS = {"delegations:edit", "invoices:edit"}


def main_manager(factory) -> dict[str, str]:
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(acme, MANAGER, ["main_manager"], account="active")
    return factory.headers(MANAGER)


def test_the_catalog_shows_the_main_manager_as_everything_but_its_exceptions(client, factory):
    headers = main_manager(factory)
    roles = {r["code"]: r for r in client.get("/api/roles", headers=headers).get_json()["roles"]}
    role = roles["main_manager"]
    assert role["grants_all"] is True
    assert set(role["exceptions"]) == EXCEPTIONS
    assert role["permissions"] == sorted(ALL_PERMISSIONS - EXCEPTIONS)
    cells = {
        (row["module"], kind): row[kind] for row in role["matrix"] for kind in ("view", "edit")
    }
    for module in MODULES:
        for kind, permission in (("view", module.view), ("edit", module.edit)):
            expected = None if permission is None else permission not in EXCEPTIONS
            assert cells[(module.code, kind)] is expected, (module.code, kind)
    assert roles["cust_admin"]["grants_all"] is False
    assert "delegations:edit" in roles["cust_admin"]["permissions"]


def test_the_main_manager_holds_every_permission_but_its_exceptions(app, factory):
    main_manager(factory)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == MANAGER))
        org = db.session.get(Organization, user.organization_id)
        actor = actor_of(session=db.session, user=user, organization=org)
        membership = actor.membership(org.id)
        assert membership is not None
        assert membership.permissions == ALL_PERMISSIONS - EXCEPTIONS
        acme = access.visible_org(session=db.session, actor=actor, slug="acme")
        # Every permission a role can grant (staff-only ones are held through the staff account).
        for permission in set(access.Permission) - access.STAFF_ONLY_PERMISSIONS:
            assert acme.can(permission) is (permission not in EXCEPTIONS), permission
        assert access.can_manage(acme) and access.can_view_roster(acme)
        assert not access.can_change_delegations(acme)


def test_the_main_manager_is_refused_exactly_its_exceptions_through_the_api(client, factory):
    headers = main_manager(factory)
    # contacts:view and contacts:manage: the roster, a dry run, a submission, the invitations.
    assert client.get("/api/orgs/acme/contacts", headers=headers).status_code == 200
    assert client.get("/api/orgs/acme/invitations", headers=headers).status_code == 200
    reference = raise_ticket(client, headers, [new_contact()])
    # tickets:view and tickets:comment.
    assert client.get("/api/tickets", headers=headers).status_code == 200
    assert client.get(f"/api/tickets/{reference}", headers=headers).status_code == 200
    comment = {"body": "Nia starts on Monday."}
    posted = client.post(f"/api/tickets/{reference}/comments", json=comment, headers=headers)
    assert posted.status_code == 201
    assert client.post(f"/api/tickets/{reference}/cancel", headers=headers).status_code == 200
    # delegations:edit is an exception: granting a partner access is refused, dry run included.
    version = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["version"]
    delegate = {
        "base_version": version,
        "changes": [{"op": "grant_delegate", "organization": "buyco"}],
    }
    for url in ("/api/orgs/acme/change-requests", "/api/orgs/acme/change-requests/validate"):
        refused = client.post(url, json=delegate, headers=headers)
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    # A customer administrator, who holds delegations:edit, may.
    admin = factory.headers("admin@acme.example")
    assert (
        client.post("/api/orgs/acme/change-requests", json=delegate, headers=admin).status_code
        == 201
    )


def test_staff_define_a_role_as_everything_except_a_few(client, factory):
    factory.demo()
    staff = factory.headers(STAFF)
    created = client.post(
        "/api/roles",
        json={
            "code": "deputy",
            "name": "Deputy",
            "grants_all": True,
            "exceptions": ["contacts:manage"],
        },
        headers=staff,
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["permissions"] == sorted(ALL_PERMISSIONS - {"contacts:manage"})
    listed = client.patch(
        "/api/roles/deputy",
        json={"grants_all": False, "exceptions": [], "permissions": ["contacts:view"]},
        headers=staff,
    )
    assert listed.status_code == 200
    assert listed.get_json()["permissions"] == ["contacts:view"]
    assert listed.get_json()["grants_all"] is False
    for bad, path in (
        ({"grants_all": True, "permissions": ["contacts:view"]}, "permissions"),
        ({"exceptions": ["contacts:view"]}, "exceptions"),
        ({"grants_all": True, "exceptions": ["rockets:launch"]}, "exceptions/0"),
    ):
        refused = client.patch("/api/roles/deputy", json=bad, headers=staff)
        assert refused.status_code == 422, bad
        assert refused.get_json()["errors"][0]["path"] == path, refused.get_json()
