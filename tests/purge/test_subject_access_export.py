"""The subject-access export: everything held about one contact, from the same registry as the
purge, so the two cannot disagree about what "everything" is."""

from __future__ import annotations

import json

import pytest

from service.personal_data import FREE_TEXT, HOLDINGS, PERSONAL, SECRET_COLUMNS
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import OUTSIDER, REQUESTER, STAFF, STAFF2, raise_ticket, update_contact

FRANK = "frank.fischer@acme.example"


def test_the_export_and_the_purge_cover_the_same_registry():
    tables = [holding.table for holding in HOLDINGS]
    assert sorted(tables) == sorted(PERSONAL), "every personal table is exported and erased"
    assert len(set(tables)) == len(tables)
    for holding in HOLDINGS:
        assert callable(holding.rows) and callable(holding.erase), holding.table


@pytest.fixture
def frank(app, client, factory) -> dict:
    """Frank signed in, asked for his numbers to change (a ticket, emails) and was applied."""
    factory.demo()
    ids = contact_ids(factory)
    headers = factory.headers(FRANK)
    reference = raise_ticket(
        client,
        headers,
        [update_contact(ids["frank.fischer"], phone="+44 20 7946 0999")],
    )
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    run_jobs(app)
    return {"id": ids["frank.fischer"], "reference": reference}


def export(client, factory, contact_id: int, who: str = STAFF, org: str = "acme"):
    return client.get(f"/api/orgs/{org}/contacts/{contact_id}/export", headers=factory.headers(who))


def test_staff_export_every_table_that_holds_the_contacts_data(client, factory, frank):
    response = export(client, factory, frank["id"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["contact_id"] == frank["id"]
    assert sorted(body["held"]) == sorted(PERSONAL)
    (contact,) = body["held"]["contacts"]
    assert contact["email"] == FRANK and contact["phone"] == "+44 20 7946 0999"
    assert contact["first_name"] == "Frank"
    (account,) = body["held"]["users"]
    assert account["email"] == FRANK and account["password_hash"] is True
    assert body["held"]["access_tokens"], "his sign-in"
    assert all(t["token_hash"] is True for t in body["held"]["access_tokens"])
    assert any(
        item["payload"]["op"] == "update_contact" for item in body["held"]["change_request_items"]
    )
    assert body["held"]["emails"], "the receipt of his request"
    assert all(email["recipient"].lower() == FRANK for email in body["held"]["emails"])
    assert "cust_admin" in body["roles"]
    assert frank["reference"] in body["tickets"]
    text = json.dumps(body)
    assert "$argon2" not in text, "digests are never shown"


def test_what_the_purge_erases_is_what_the_export_showed(app, client, factory, frank):
    before = export(client, factory, frank["id"]).get_json()
    reference = raise_ticket(
        client, factory.headers(REQUESTER), [{"op": "delete_contact", "contact_id": frank["id"]}]
    )
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF2))
    run_jobs(app)
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    (receipt,) = detail["erasure_receipt"]
    erased = receipt["erased"]
    shown = {table for table, rows in before["held"].items() if rows}
    mentioned = {table for table, rows in before["mentioned_in"].items() if rows}
    assert set(erased) == shown | mentioned
    for table, columns in erased.items():
        if table in FREE_TEXT:
            assert columns == [FREE_TEXT[table]]
            continue
        assert columns == sorted(PERSONAL[table])
        assert any(row.get(column) for row in before["held"][table] for column in columns), table
    after = export(client, factory, frank["id"]).get_json()["held"]
    for table, rows in after.items():
        for row in rows:
            for column in PERSONAL[table] - SECRET_COLUMNS:
                value = row.get(column)
                assert value in (None, {"erased": True}), (table, column)
    assert "frank" not in json.dumps(after).lower()


def test_free_text_that_mentions_the_contact_is_exported_as_the_purge_would_rewrite_it(
    client, factory, frank
):
    client.post(
        f"/api/tickets/{frank['reference']}/comments",
        json={"body": "Frank Fischer asked for this himself."},
        headers=factory.headers(REQUESTER),
    )
    body = export(client, factory, frank["id"]).get_json()
    (comment,) = body["mentioned_in"]["ticket_comments"]
    assert "Frank Fischer" in comment["body"]


def test_only_staff_export_and_only_a_contact_of_that_organization(client, factory, frank):
    url = f"/api/orgs/acme/contacts/{frank['id']}/export"
    assert client.get(url).status_code == 401
    refused = export(client, factory, frank["id"], who=REQUESTER)
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    hidden = export(client, factory, frank["id"], who=OUTSIDER)
    assert hidden.status_code == 404
    assert export(client, factory, frank["id"], org="buyco").status_code == 404
    assert export(client, factory, 999_999).status_code == 404
