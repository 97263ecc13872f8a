"""`/api/webhooks`: staff only (401 without a token, 403 for a customer, 404 for what does not
exist), with shapes checked and nothing half-applied."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.webhooks.models import WebhookEndpoint, WebhookSubscription
from tests.tickets.support import NO_MANAGE, OUTSIDER, REQUESTER, STAFF

URL = "https://crm.example/hooks/rolegate"

ROUTES = [
    ("get", "/api/webhooks", None),
    ("post", "/api/webhooks", {"url": URL, "events": ["contact.purged"]}),
    ("get", "/api/webhooks/{id}", None),
    ("patch", "/api/webhooks/{id}", {"description": "CRM"}),
    ("delete", "/api/webhooks/{id}", None),
    ("post", "/api/webhooks/{id}/rotate-secret", None),
    ("get", "/api/webhooks/{id}/deliveries", None),
    ("post", "/api/webhooks/{id}/deliveries/1/replay", None),
    ("post", "/api/webhooks/{id}/replay-failed", None),
]


@pytest.fixture
def endpoint(client, factory) -> dict:
    factory.demo()
    response = client.post(
        "/api/webhooks",
        json={"url": URL, "events": ["contact.purged", "ticket.submitted"], "organization": "acme"},
        headers=factory.headers(STAFF),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_staff_register_list_change_and_remove_an_endpoint(client, factory, endpoint):
    staff = factory.headers(STAFF)
    assert endpoint["organization"] == "acme" and endpoint["status"] == "active"
    assert endpoint["events"] == ["contact.purged", "ticket.submitted"]
    assert endpoint["secret"].startswith("whsec_")
    listed = client.get("/api/webhooks", headers=staff).get_json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    shown = client.get(f"/api/webhooks/{endpoint['id']}", headers=staff).get_json()
    assert "secret" not in shown and shown["url"] == URL
    changed = client.patch(
        f"/api/webhooks/{endpoint['id']}",
        json={"events": ["delegation.granted"], "description": "CRM mirror"},
        headers=staff,
    ).get_json()
    assert changed["events"] == ["delegation.granted"] and changed["description"] == "CRM mirror"
    assert client.delete(f"/api/webhooks/{endpoint['id']}", headers=staff).status_code == 204
    assert client.get(f"/api/webhooks/{endpoint['id']}", headers=staff).status_code == 404
    assert factory.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_wants_a_token_and_staff(client, factory, endpoint, method, path, body):
    url = path.format(id=endpoint["id"])
    call = getattr(client, method)
    assert call(url, json=body).status_code == 401
    for who in (REQUESTER, NO_MANAGE, OUTSIDER):
        refused = call(url, json=body, headers=factory.headers(who))
        assert refused.status_code == 403, (who, refused.get_json())
        assert refused.get_json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if "{id}" in r[1]])
def test_an_endpoint_that_does_not_exist_is_404(client, factory, endpoint, method, path, body):
    url = path.format(id=endpoint["id"] + 1)
    response = getattr(client, method)(url, json=body, headers=factory.headers(STAFF))
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://crm.example/x", "events": ["contact.purged"]},
        {"url": "not a url", "events": ["contact.purged"]},
        {"url": URL, "events": []},
        {"url": URL, "events": ["contact.sold"]},
        {"url": URL},
        {"url": URL, "events": ["contact.purged"], "secret": "whsec_mine"},
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(client, factory, body):
    factory.demo()
    response = client.post("/api/webhooks", json=body, headers=factory.headers(STAFF))
    assert response.status_code == 422, response.get_json()
    assert factory.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_an_unknown_organization_is_404_and_nothing_is_stored(client, factory):
    factory.demo()
    response = client.post(
        "/api/webhooks",
        json={"url": URL, "events": ["contact.purged"], "organization": "nowhere"},
        headers=factory.headers(STAFF),
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_organization"
    assert factory.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_the_openapi_document_describes_the_webhook_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/api/webhooks",
        "/api/webhooks/{endpoint_id}",
        "/api/webhooks/{endpoint_id}/rotate-secret",
        "/api/webhooks/{endpoint_id}/deliveries",
        "/api/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
        "/api/webhooks/{endpoint_id}/replay-failed",
    ):
        assert path in paths, path
