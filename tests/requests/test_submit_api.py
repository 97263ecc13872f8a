"""`POST /api/orgs/<slug>/change-requests` and its dry run, against the demo roster."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.requests.models import ChangeRequest, ChangeRequestItem
from service.tickets.models import Ticket, TicketEvent
from tests.demo_ids import contact_ids

URL = "/api/orgs/acme/change-requests"


@pytest.fixture
def acme(factory):
    factory.demo()
    return contact_ids(factory)


@pytest.fixture
def admin(factory, acme):
    return factory.headers("admin@acme.example")


def new_contact(ref="n1", email="annabelle@acme.example", roles=("agreement",), **fields):
    contact = {
        "salutation": "Ms",
        "first_name": "Annabelle",
        "last_name": "Greement",
        "email": email,
        "job_title": "Counsel",
        "phone": "+44 20 7946 0001",
        **fields,
    }
    return {"op": "add_contact", "ref": ref, "contact": contact, "roles": list(roles)}


def post(client, headers, changes, base_version=1, url=URL, **extra):
    return client.post(
        url, json={"base_version": base_version, "changes": changes, **extra}, headers=headers
    )


def stored_counts(factory):
    return (
        factory.scalar(select(func.count()).select_from(ChangeRequest)),
        factory.scalar(select(func.count()).select_from(ChangeRequestItem)),
        factory.scalar(select(func.count()).select_from(Ticket)),
    )


def codes(response):
    return {(e["code"], e["path"]) for e in response.get_json()["errors"]}


def test_valid_batch_is_stored_as_an_open_ticket_with_an_opened_event(client, factory, acme, admin):
    changes = [
        new_contact(),
        {
            "op": "update_contact",
            "contact_id": acme["devon.tran"],
            "fields": {"phone": "+44 20 7946 0002"},
        },
        {"op": "grant_role", "contact_id": acme["frank.fischer"], "role": "management"},
        {"op": "grant_role", "ref": "n1", "role": "technical"},
        {"op": "revoke_role", "contact_id": acme["erin.okafor"], "role": "agreement"},
        {"op": "deactivate_contact", "contact_id": acme["grace.gill"]},
        {"op": "reactivate_contact", "contact_id": acme["hugo.hart"]},
        {"op": "delete_contact", "contact_id": acme["carla.conti"]},
        {"op": "grant_delegate", "organization": "buyco"},
    ]
    response = post(client, admin, changes, comment="New counsel joins.")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ticket"] == {
        "reference": "CR-000001",
        "status": "open",
        "url": "http://rolegate.test/tickets/CR-000001",
    }
    assert body["warnings"] == []
    assert stored_counts(factory) == (1, 9, 1)
    events = factory.all(select(TicketEvent.action, TicketEvent.from_status, TicketEvent.to_status))
    assert events == [("opened", None, "open")]
    ops = factory.all(select(ChangeRequestItem.op).order_by(ChangeRequestItem.position))
    assert [op for (op,) in ops] == [c["op"] for c in changes]


def test_separation_of_duties_is_a_warning_not_an_error(client, factory, acme, admin):
    response = post(
        client,
        admin,
        [{"op": "grant_role", "contact_id": acme["boris.banks"], "role": "cust_admin"}],
    )
    assert response.status_code == 201
    warnings = response.get_json()["warnings"]
    assert [w["code"] for w in warnings] == ["separation_of_duties"]
    assert warnings[0]["path"] == "changes/0"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            lambda ids: [
                {"op": "revoke_role", "contact_id": ids["boris.banks"], "role": "financial"}
            ],
            ("required_role_missing", "changes/0"),
        ),
        (
            lambda ids: [{"op": "deactivate_contact", "contact_id": 999999}],
            ("unknown_contact", "changes/0/contact_id"),
        ),
        (
            lambda ids: [{"op": "grant_role", "contact_id": ids["devon.tran"], "role": "wizard"}],
            ("unknown_role", "changes/0/role"),
        ),
        (
            lambda ids: [new_contact(email="Boris.Banks@ACME.example")],
            ("duplicate_email", "changes/0/contact/email"),
        ),
        (
            lambda ids: [new_contact(), new_contact(email="other@acme.example")],
            ("duplicate_ref", "changes/1/ref"),
        ),
        (
            lambda ids: [new_contact(first_name=None)],
            ("missing_field", "changes/0/contact/first_name"),
        ),
        (lambda ids: [new_contact(roles=())], ("missing_field", "changes/0/roles")),
        (
            lambda ids: [new_contact(email="not-an-email")],
            ("invalid_field", "changes/0/contact/email"),
        ),
        (
            lambda ids: [
                {"op": "deactivate_contact", "contact_id": ids["devon.tran"]},
                {"op": "delete_contact", "contact_id": ids["devon.tran"]},
            ],
            ("conflicting_changes", "changes/1"),
        ),
        (
            lambda ids: [
                {"op": "grant_role", "contact_id": ids["devon.tran"], "role": "technical"}
            ],
            ("role_already_held", "changes/0/role"),
        ),
        (
            lambda ids: [
                {"op": "revoke_role", "contact_id": ids["devon.tran"], "role": "financial"}
            ],
            ("role_not_held", "changes/0/role"),
        ),
        (
            lambda ids: [{"op": "grant_delegate", "organization": "nobody"}],
            ("unknown_organization", "changes/0/organization"),
        ),
    ],
)
def test_each_rule_answers_422_with_its_code_and_path(
    client, factory, acme, admin, changes, expected
):
    response = post(client, admin, changes(acme))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert expected in codes(response)
    assert stored_counts(factory) == (0, 0, 0)


def test_seat_limit_is_enforced(client, factory, acme, admin):
    changes = [new_contact(ref=f"n{i}", email=f"person{i}@acme.example") for i in range(14)]
    response = post(client, admin, changes)
    assert response.status_code == 422
    assert ("seat_limit_exceeded", "changes") in codes(response)


def test_empty_and_oversized_batches_have_their_own_codes(client, app, acme, admin):
    empty = post(client, admin, [])
    assert empty.status_code == 422
    assert codes(empty) == {("empty_batch", "changes")}
    limit = app.config["MAX_BATCH_SIZE"]
    big = [{"op": "deactivate_contact", "contact_id": acme["devon.tran"]}] * (limit + 1)
    too_large = post(client, admin, big)
    assert too_large.status_code == 422
    assert codes(too_large) == {("batch_too_large", "changes")}


def test_every_problem_is_reported_at_once(client, factory, acme, admin):
    changes = [
        new_contact(email="bad email", first_name=""),
        {"op": "grant_role", "contact_id": 424242, "role": "technical"},
        {"op": "revoke_role", "contact_id": acme["boris.banks"], "role": "financial"},
        {"op": "grant_role", "contact_id": acme["devon.tran"], "role": "nope"},
    ]
    response = post(client, admin, changes)
    assert response.status_code == 422
    found = codes(response)
    assert {
        ("invalid_field", "changes/0/contact/email"),
        ("missing_field", "changes/0/contact/first_name"),
        ("unknown_contact", "changes/1/contact_id"),
        ("required_role_missing", "changes/2"),
        ("unknown_role", "changes/3/role"),
    } <= found


def test_messages_carry_no_personal_data(client, acme, admin):
    response = post(client, admin, [new_contact(email="Boris.Banks@ACME.example")])
    text = response.get_data(as_text=True).lower()
    assert "boris" not in text and "banks" not in text


def test_shape_errors_are_keyed_by_item_index(client, factory, acme, admin):
    response = post(
        client,
        admin,
        [
            new_contact(),
            {"op": "grant_role", "contact_id": "12", "role": "technical"},
            {"op": "explode"},
            {"op": "grant_role", "contact_id": acme["devon.tran"], "role": "technical", "x": 1},
            {"op": "update_contact", "contact_id": True, "fields": {}},
        ],
    )
    assert response.status_code == 422
    found = codes(response)
    assert ("invalid_field", "changes/1/contact_id") in found
    assert ("invalid_field", "changes/2/op") in found
    assert ("unknown_field", "changes/3/x") in found
    assert ("invalid_field", "changes/4/contact_id") in found
    assert stored_counts(factory) == (0, 0, 0)


def test_unknown_top_level_field_and_malformed_json(client, acme, admin):
    unknown = post(client, admin, [new_contact()], priority="high")
    assert unknown.status_code == 422
    assert ("unknown_field", "priority") in codes(unknown)
    malformed = client.post(
        URL, data='{"base_version": 1,', headers=admin, content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.get_json()["code"] == "malformed_json"


def test_second_request_while_one_is_pending_is_409(client, factory, acme, admin):
    assert post(client, admin, [new_contact()]).status_code == 201
    second = post(client, admin, [new_contact(ref="n2", email="x@acme.example")])
    assert second.status_code == 409
    assert second.get_json()["code"] == "request_pending"
    assert "CR-000001" in second.get_json()["message"]
    assert stored_counts(factory)[0] == 1


def test_stale_base_version_is_409(client, factory, acme, admin):
    response = post(client, admin, [new_contact()], base_version=0)
    assert response.status_code == 409
    assert response.get_json()["code"] == "stale_roster"
    assert stored_counts(factory) == (0, 0, 0)


def test_contact_without_manage_permission_gets_403(client, factory, acme):
    headers = factory.headers("boris.banks@acme.example")
    response = post(client, headers, [new_contact()])
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_staff_cannot_submit_for_a_customer(client, factory, acme):
    response = post(client, factory.headers("staff@vendor.example"), [new_contact()])
    assert response.status_code == 403


def test_admin_of_another_organization_gets_404(client, factory, acme):
    response = post(client, factory.headers("admin@buyco.example"), [new_contact()])
    assert response.status_code == 404
    missing = post(
        client,
        factory.headers("admin@buyco.example"),
        [new_contact()],
        url="/api/orgs/nowhere/change-requests",
    )
    assert response.get_json() == missing.get_json()


def test_no_token_is_401_even_with_a_bad_body(client, acme):
    assert client.post(URL, json={"nonsense": True}).status_code == 401


def test_dry_run_reports_findings_and_projection_and_stores_nothing(client, factory, acme, admin):
    changes = [
        new_contact(),
        {"op": "revoke_role", "contact_id": acme["boris.banks"], "role": "financial"},
    ]
    response = post(client, admin, changes, url=URL + "/validate")
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    assert ("required_role_missing", "changes/1") in {
        (e["code"], e["path"]) for e in body["errors"]
    }
    projected = body["projected"]["contacts"]
    assert any(c["id"] is None and c["ref"] == "n1" for c in projected)
    boris = next(c for c in projected if c["id"] == acme["boris.banks"])
    assert boris["roles"] == []
    assert stored_counts(factory) == (0, 0, 0)

    ok = post(client, admin, [new_contact()], url=URL + "/validate").get_json()
    assert ok["valid"] is True and ok["errors"] == []


def test_dry_run_names_a_pending_request_and_a_stale_version(client, acme, admin):
    assert post(client, admin, [new_contact()]).status_code == 201
    body = post(
        client,
        admin,
        [new_contact(ref="n2", email="z@acme.example")],
        base_version=0,
        url=URL + "/validate",
    ).get_json()
    assert body["valid"] is False
    assert {"request_pending", "stale_roster"} <= {e["code"] for e in body["errors"]}
