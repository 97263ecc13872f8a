"""Hostile input gets a 4xx with the contract's error body, never a 5xx: oversized and deeply
nested bodies, the wrong content type, non-ASCII digits, ids past a column's range, line breaks
in a redirect target. The per-operation checks walk the OpenAPI document, so a new endpoint is
covered; `test_openapi_fuzz.py` then throws generated input at every operation."""

from __future__ import annotations

import json

import pytest

from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.web.forms import csrf_token, sign_in

DEEP = "[" * 10_000 + "]" * 10_000


def assert_error(response, status: int, code: str, what: str = "") -> None:
    assert response.status_code == status, (what, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) >= {"code", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list)


@pytest.fixture
def demo(factory):
    factory.demo()


@pytest.fixture
def headers(demo, factory):
    return factory.headers(REQUESTER)


def json_operations(client) -> list[tuple[str, str]]:
    """Every operation of the API that takes a JSON body, with its path filled in for acme."""
    spec = client.get("/api/openapi.json").get_json()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                concrete = (
                    path.replace("{slug}", "acme")
                    .replace("{reference}", "CR-000001")
                    .replace("{code}", "technical")
                    .replace("{contact_id}", "1")
                    .replace("{endpoint_id}", "1")
                )
                found.append((method, concrete))
    assert len(found) >= 10
    return found


def send_to_each(client, headers, data: str, content_type: str):
    """The same body to every operation that takes one: (operation, answer) pairs."""
    for method, path in json_operations(client):
        answer = client.open(
            path, method=method.upper(), data=data, headers=headers, content_type=content_type
        )
        yield f"{method} {path}", answer


def test_every_json_operation_refuses_another_content_type_with_415(client, headers):
    raise_ticket(client, headers)
    for content_type, data in (
        ("application/x-www-form-urlencoded", "email=x"),
        ("text/plain", "{}"),
    ):
        for operation, answer in send_to_each(client, headers, data, content_type):
            assert_error(answer, 415, "unsupported_media_type", operation)


def test_every_json_operation_refuses_json_nested_ten_thousand_deep_with_400(client, headers):
    for operation, answer in send_to_each(client, headers, DEEP, "application/json"):
        assert_error(answer, 400, "malformed_json", operation)


def test_every_json_operation_refuses_a_body_over_the_limit_before_parsing_it(
    app, client, headers, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    # Not even JSON: had it been parsed, the answer would be 400.
    oversized = "{" + "x" * 10_001
    for operation, answer in send_to_each(client, headers, oversized, "application/json"):
        assert_error(answer, 413, "payload_too_large", operation)


def test_a_body_without_content_type_is_fine_where_the_body_is_optional(client, factory, headers):
    reference = raise_ticket(client, headers)
    response = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    assert response.status_code == 202


def test_a_thousand_item_batch_with_long_fields_fits_the_default_limit(app, client, headers):
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_REQUEST_BYTES"]
    long = "\u00e9" * 90  # two bytes in UTF-8, six as a JSON escape
    changes = [
        {
            "op": "add_contact",
            "ref": f"r{n:04d}" + "x" * 40,
            "contact": {
                "salutation": "Dr",
                "first_name": long,
                "last_name": long,
                "email": f"n{n:04d}{'e' * 200}@acme.example",
                "job_title": long,
                "phone": "+44 20 7946 0000 0000 0000 0000 00",
                "mobile": "+44 20 7946 0000 0000 0000 0000 00",
            },
            "roles": ["technical", "agreement", "management"],
        }
        for n in range(app.config["MAX_BATCH_SIZE"])
    ]
    body = json.dumps({"base_version": 1, "comment": long * 40, "changes": changes})
    assert len(body) > 2_000_000
    response = client.post(
        "/api/orgs/acme/change-requests/validate",
        data=body,
        headers=headers,
        content_type="application/json",
    )
    assert response.status_code == 200, response.get_json()


def test_the_pages_json_calls_refuse_the_same_inputs(app, client, demo):
    browser = app.test_client()
    sign_in(browser, REQUESTER)
    token = {"X-CSRFToken": csrf_token(browser, "/orgs/acme/contacts")}
    url = "/web/orgs/acme/change-requests/validate"
    assert_error(
        browser.post(url, data=DEEP, headers=token, content_type="application/json"),
        400,
        "malformed_json",
    )
    assert_error(
        browser.post(url, data="{}", headers=token, content_type="text/plain"),
        415,
        "unsupported_media_type",
    )


@pytest.mark.parametrize(
    "reference",
    ["CR-\u00b2", "CR-\u0663", "CR-\uff11", "CR-999999999999", "CR-2147483648", "\u00b2", "9" * 11],
)
def test_references_with_odd_digits_or_past_the_id_range_are_not_found(
    app, client, headers, reference
):
    assert_error(client.get(f"/api/tickets/{reference}", headers=headers), 404, "ticket_not_found")
    browser = app.test_client()
    sign_in(browser, REQUESTER)
    assert browser.get(f"/tickets/{reference}").status_code == 404


@pytest.mark.parametrize("q", ["\u00b2", "\u0663\u0664", "99999999999", "2147483648", "CR-\u00b2"])
def test_the_queue_search_takes_odd_digits_and_huge_numbers(app, client, headers, q):
    response = client.get("/api/tickets", query_string={"q": q}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["total"] == 0
    browser = app.test_client()
    sign_in(browser, STAFF)
    assert browser.get("/tickets", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize("contact_id", ["99999999999999999999", "2147483648", "0"])
def test_ids_past_the_columns_range_are_not_found(app, client, headers, contact_id):
    for action in ("resend", "revoke"):
        path = f"/api/orgs/acme/invitations/{contact_id}/{action}"
        assert_error(client.post(path, headers=headers), 404, "not_found")
    browser = app.test_client()
    sign_in(browser, REQUESTER)
    token = csrf_token(browser, "/orgs/acme/invitations")
    page = browser.post(f"/orgs/acme/invitations/{contact_id}/resend", data={"csrf_token": token})
    assert page.status_code == 404


@pytest.mark.parametrize(
    "target",
    ["/\r\nSet-Cookie: stolen=1", "/tickets\nx", "/\x00", "/%0d%0a", "/tickets\t", "/\u2028"],
)
def test_line_breaks_in_the_sign_in_pages_next_never_reach_a_header(app, demo, target):
    browser = app.test_client()
    response = sign_in(browser, REQUESTER, next_path=target)
    assert response.status_code == 302
    assert "\n" not in response.location and "\r" not in response.location
    assert "stolen" not in response.headers.get("Set-Cookie", "")
    again = browser.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert "\n" not in again.location and "\r" not in again.location
