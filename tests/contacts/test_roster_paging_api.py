"""`GET /api/orgs/<slug>/contacts` a page at a time: filters, order, cursor, total, holders."""

from __future__ import annotations

import random

import pytest

from service.contacts.paging import encode_cursor
from tests.contacts.support import raise_pending

URL = "/api/orgs/acme/contacts"
V1_KEYS = {"organization", "version", "required_roles", "pending_ticket", "contacts"}
FIRST = ["Ada", "ada", "Émile", "Zoë", "Bob", "Chen", "Dana"]
LAST = ["Ackland", "ackland", "Banks", "Okafor", "Ng", "de Vries", "O'Brien"]
ROLES = ["cust_admin", "financial", "management", "agreement", "technical"]


def order_key(contact):
    return (contact["last_name"].lower(), contact["first_name"].lower(), contact["id"])


def walk(client, headers, params, limit):
    """Every page from the first to the last; the contacts in the order they came."""
    seen, cursor, pages = [], None, 0
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, query_string=query, headers=headers).get_json()
        assert set(body) == V1_KEYS | {"total", "next_cursor", "holders"}
        # A pending view adds the requested new contacts to its first page, beyond the limit.
        assert len([c for c in body["contacts"] if c["id"] is not None]) <= limit
        seen += body["contacts"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, body
        assert pages < 200


@pytest.fixture
def roster(factory):
    """A roster of 40 contacts with clashing names, roles, statuses and accounts."""
    rng = random.Random(14)
    org = factory.org("acme")
    factory.contact(org, "admin@acme.example", ["cust_admin", "financial"], account="active")
    for i in range(39):
        status = "deactivated" if i % 7 == 3 else "active"
        account = (None, "invited", "active")[i % 3] if status == "active" else None
        factory.contact(
            org,
            f"{rng.choice(['p', 'q_', 'x%'])}{i}@acme.example",
            rng.sample(ROLES, rng.randint(0, 2)),
            status=status,
            account=account,
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
        )
    return org


@pytest.fixture
def admin(factory, roster):
    return factory.headers("admin@acme.example")


def everyone(client, headers):
    return client.get(URL, headers=headers).get_json()["contacts"]


def test_without_paging_parameters_the_answer_is_v1s(client, admin):
    body = client.get(URL, headers=admin).get_json()
    assert set(body) == V1_KEYS
    assert len(body["contacts"]) == 40
    assert client.get(URL, query_string={"view": "pending"}, headers=admin).get_json() == body


def test_pages_list_every_contact_once_in_name_order(client, admin):
    all_contacts = sorted(everyone(client, admin), key=order_key)
    for limit in (1, 7, 40, 500):
        seen, last = walk(client, admin, {}, limit)
        assert [c["id"] for c in seen] == [c["id"] for c in all_contacts]
        assert seen == all_contacts
        assert last["total"] == 40


def matches(contact, params):
    q = params.get("q", "").lower()
    named = [
        contact["first_name"],
        contact["last_name"],
        contact["email"],
        f"{contact['first_name']} {contact['last_name']}",
    ]
    return (
        (not q or any(value.lower().startswith(q) for value in named))
        and ("role" not in params or params["role"] in contact["roles"])
        and ("status" not in params or contact["status"] == params["status"])
        and (
            "account_status" not in params or contact["account_status"] == params["account_status"]
        )
    )


FILTERS = [
    {"q": "ada"},
    {"q": "ACK"},
    {"q": "ada ack"},
    {"q": "q_"},
    {"q": "x%"},
    {"q": "%"},
    {"q": "_"},
    {"q": "de v"},
    {"q": "o'b"},
    {"role": "technical"},
    {"role": "cust_admin", "status": "active"},
    {"status": "deactivated"},
    {"account_status": "none"},
    {"account_status": "invited", "role": "agreement"},
    {"account_status": "active", "q": "b"},
    {"q": "nobody"},
]


def test_filters_select_exactly_the_matching_contacts_across_pages(client, admin):
    all_contacts = everyone(client, admin)
    for params in FILTERS:
        expected = sorted((c for c in all_contacts if matches(c, params)), key=order_key)
        seen, last = walk(client, admin, params, 3)
        assert [c["id"] for c in seen] == [c["id"] for c in expected], params
        assert last["total"] == len(expected), params


def test_holders_count_active_contacts_of_the_whole_roster_whatever_the_filters(client, admin):
    all_contacts = everyone(client, admin)
    expected = {
        code: sum(1 for c in all_contacts if c["status"] == "active" and code in c["roles"])
        for code in ROLES
    }
    for params in ({"limit": 1}, {"role": "technical", "status": "deactivated"}):
        holders = client.get(URL, query_string=params, headers=admin).get_json()["holders"]
        assert {code: holders[code] for code in ROLES} == expected
        assert "partner_admin" not in holders  # a role for purchasers only


@pytest.mark.parametrize(
    ("params", "path", "code"),
    [
        ({"limit": 0}, "limit", "invalid_field"),
        ({"limit": 501}, "limit", "invalid_field"),
        ({"limit": "ten"}, "limit", "invalid_field"),
        ({"cursor": "not-a-cursor"}, "cursor", "invalid_field"),
        ({"cursor": "YWZ0ZXI6LTE"}, "cursor", "invalid_field"),
        ({"role": "pilot"}, "role", "unknown_role"),
        ({"role": "Bad Code"}, "role", "invalid_field"),
        ({"status": "archived"}, "status", "invalid_field"),
        ({"account_status": "archived"}, "account_status", "invalid_field"),
        ({"q": "a\u202eb"}, "q", "invalid_field"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, factory, params, path, code):
    factory.demo()
    response = client.get(URL, query_string=params, headers=factory.headers("admin@acme.example"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert [(e["path"], e["code"]) for e in body["errors"]] == [(path, code)]


def test_a_cursor_names_a_place_only_in_its_own_roster(client, factory, admin):
    other = factory.org("umbrella")
    stranger = factory.contact(other, "someone@umbrella.example", ["technical"])
    body = client.get(
        URL, query_string={"cursor": encode_cursor(stranger)}, headers=admin
    ).get_json()
    assert body["contacts"] == [] and body["next_cursor"] is None


def test_paging_keeps_the_isolation_of_the_roster(client, factory, admin):
    buyco = factory.org("buyco", kind="purchaser")
    factory.contact(buyco, "admin@buyco.example", ["partner_admin"], account="active")
    viewers = factory.org("viewers")
    factory.contact(viewers, "v@viewers.example", ["agreement"], account="active")
    query = {"limit": 5, "role": "technical"}
    assert client.get(URL, query_string=query).status_code == 401
    other = client.get(URL, query_string=query, headers=factory.headers("admin@buyco.example"))
    assert other.status_code == 404
    viewer = client.get(
        "/api/orgs/viewers/contacts",
        query_string=query,
        headers=factory.headers("v@viewers.example"),
    )
    assert viewer.status_code == 403


def test_pending_view_pages_with_requested_changes_and_new_contacts_first_page_only(
    client, factory
):
    ids, headers, _ = raise_pending(
        client, factory, lambda ids: [{"op": "delete_contact", "contact_id": ids["grace.gill"]}]
    )
    whole = client.get(URL, query_string={"view": "pending"}, headers=headers).get_json()
    first = client.get(
        URL, query_string={"view": "pending", "limit": 4}, headers=headers
    ).get_json()
    rest, _ = walk(client, headers, {"view": "pending"}, 4)
    assert [c for c in first["contacts"] if c["id"] is None] == [
        c for c in whole["contacts"] if c["id"] is None
    ]
    paged = [c for c in rest if c["id"] is not None]
    assert sorted(paged, key=order_key) == paged
    assert len([c for c in rest if c["id"] is None]) == 1
    by_id = {c["id"]: c for c in whole["contacts"]}
    assert all(c == by_id[c["id"]] for c in paged)
    assert by_id[ids["grace.gill"]]["requested"]["delete"] is True
    assert first["total"] == 8
