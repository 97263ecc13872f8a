"""Webhooks reach a real local HTTP server, signed as Standard Webhooks says (checked with the
specification's reference code), retried after an outage, given up after a day, replayed."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from service.contacts.models import Contact, ContactStatus
from service.extensions import db
from service.jobs import resend_pending
from service.notifications.models import Email
from service.organizations.models import Organization
from service.webhooks.delivery import MAX_ATTEMPTS
from service.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, new_contact, raise_ticket
from tests.webhooks.statements import submission_statements
from tests.webhooks.support import (
    attempt_pending,
    deliver,
    deliveries,
    move_time_forward,
    register,
    verify,
)

FRANK = "frank.fischer@acme.example"
ALL_EVENTS = [
    "ticket.submitted",
    "ticket.approved",
    "ticket.implemented",
    "ticket.rejected",
    "ticket.cancelled",
    "ticket.failed",
    "contact.added",
    "contact.updated",
    "contact.deleted",
    "contact.purged",
    "delegation.granted",
    "delegation.revoked",
]


def one_submission(app, client, factory, receiver, answering: int = 204) -> tuple[dict, str]:
    """The demo data, an endpoint for ticket.submitted whose receiver answers `answering`, and
    one ticket raised and its delivery tried once: the endpoint and the ticket's reference."""
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["ticket.submitted"])
    receiver.status = answering
    reference = raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    return endpoint, reference


def test_a_submission_reaches_the_endpoint_signed_with_ids_only(app, client, factory, receiver):
    endpoint, reference = one_submission(app, client, factory, receiver)
    assert endpoint["secret"].startswith("whsec_")
    (received,) = receiver.received
    payload = verify(endpoint["secret"], received)
    assert payload["type"] == "ticket.submitted"
    assert payload["data"] == {"organization": "acme", "ticket": reference}
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    (delivery,) = deliveries(app)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 204


def test_an_organizations_endpoint_hears_only_its_organizations_events(
    app, client, factory, receiver
):
    factory.demo()
    register(client, factory, receiver.url("/buyco"), ["ticket.submitted"], organization="buyco")
    register(client, factory, receiver.url("/acme"), ["ticket.submitted"], organization="acme")
    register(client, factory, receiver.url("/other"), ["ticket.approved"])
    raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    assert [r.path for r in receiver.received] == ["/acme"]


def test_an_applied_batch_tells_every_step_without_personal_data(app, client, factory, receiver):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ALL_EVENTS)
    ids = contact_ids(factory)
    reference = raise_ticket(
        client,
        factory.headers(REQUESTER),
        [
            new_contact(),
            {
                "op": "update_contact",
                "contact_id": ids["frank.fischer"],
                "fields": {"phone": "+44 20 7946 0555"},
            },
            {"op": "grant_delegate", "organization": "buyco"},
        ],
    )
    assert (
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)).status_code
        == 202
    )
    run_jobs(app)
    deliver(app)
    types = [verify(endpoint["secret"], r)["type"] for r in receiver.received]
    assert sorted(types) == sorted(
        [
            "ticket.submitted",
            "ticket.approved",
            "contact.added",
            "contact.updated",
            "delegation.granted",
            "ticket.implemented",
        ]
    )
    (updated,) = receiver.of_type("contact.updated")
    assert updated.payload["data"] == {
        "organization": "acme",
        "ticket": reference,
        "contact_id": ids["frank.fischer"],
    }
    (granted,) = receiver.of_type("delegation.granted")
    assert granted.payload["data"]["delegate_organization"] == "buyco"
    everything = b"\n".join(r.body for r in receiver.received).decode().lower()
    for personal in ("nia", "new@", "@acme", "frank", "fischer", "7946"):
        assert personal not in everything


def test_a_purge_sends_a_signed_contact_purged_named_in_the_erasure_receipt(
    app, client, factory, receiver
):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["contact.purged", "contact.deleted"])
    frank = contact_ids(factory)["frank.fischer"]
    reference = raise_ticket(
        client, factory.headers(REQUESTER), [{"op": "delete_contact", "contact_id": frank}]
    )
    # Deleting an administrator needs two staff approvals (four eyes).
    assert (
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF2)
        ).status_code
        == 202
    )
    run_jobs(app)
    deliver(app)
    (purged,) = receiver.of_type("contact.purged")
    payload = verify(endpoint["secret"], purged)
    assert payload["data"] == {"organization": "acme", "ticket": reference, "contact_id": frank}
    assert len(receiver.of_type("contact.deleted")) == 1
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    (receipt,) = detail["erasure_receipt"]
    sent = receipt["webhooks"]
    assert sent["event"] == purged.headers["webhook-id"]
    (delivery_id,) = sent["deliveries"]
    delivered = {d.id: d for d in deliveries(app)}[delivery_id]
    assert delivered.status == DeliveryStatus.DELIVERED
    for body in (r.body.decode().lower() for r in receiver.received):
        assert "frank" not in body and "fischer" not in body and "@" not in body


def test_an_outage_is_retried_after_the_backoff_with_the_same_webhook_id(
    app, client, factory, receiver
):
    endpoint, _ = one_submission(app, client, factory, receiver, answering=503)
    (first,) = deliveries(app)
    assert first.status == DeliveryStatus.PENDING and first.attempts == 1
    assert first.last_error == "HTTP 503" and first.next_attempt_at is not None
    # Not due yet: the sweep leaves it alone.
    with app.app_context():
        resend_pending()
    run_jobs(app)
    assert len(receiver.received) == 1
    receiver.status = 200
    move_time_forward(app)
    with app.app_context():
        assert resend_pending() == 1
    run_jobs(app)
    (second,) = deliveries(app)
    assert second.status == DeliveryStatus.DELIVERED and second.attempts == 2
    one, two = receiver.received
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    assert one.body == two.body
    verify(endpoint["secret"], two)
    with app.app_context():
        assert resend_pending() == 0


def test_a_refused_connection_counts_as_a_failed_attempt(app, client, factory, receiver):
    factory.demo()
    url = receiver.url()
    receiver.close()
    register(client, factory, url, ["ticket.submitted"])
    raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    (delivery,) = deliveries(app)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error and "HTTP" not in delivery.last_error


def test_a_day_of_failures_gives_up_disables_the_endpoint_and_tells_staff_then_replay_works(
    app, client, factory, receiver
):
    endpoint, _ = one_submission(app, client, factory, receiver, answering=500)
    for _ in range(MAX_ATTEMPTS - 1):
        move_time_forward(app)
        attempt_pending(app)
    assert len(receiver.received) == MAX_ATTEMPTS
    (given_up,) = deliveries(app)
    assert given_up.status == DeliveryStatus.FAILED and given_up.attempts == MAX_ATTEMPTS
    assert given_up.last_error == f"gave up after {MAX_ATTEMPTS} attempts: HTTP 500"
    staff = factory.headers(STAFF)
    shown = client.get(f"/api/webhooks/{endpoint['id']}", headers=staff).get_json()
    assert shown["status"] == EndpointStatus.DISABLED and shown["disabled_reason"] == "failing"
    with app.app_context():
        notice = db.session.scalars(select(Email).where(Email.template == "webhook_disabled")).one()
        assert notice.recipient == app.config["STAFF_NOTIFICATION_ADDRESS"]
    receiver.status = 200
    enabled = client.patch(f"/api/webhooks/{endpoint['id']}", json={"enabled": True}, headers=staff)
    assert enabled.status_code == 200 and enabled.get_json()["failing_since"] is None
    replayed = client.post(f"/api/webhooks/{endpoint['id']}/replay-failed", headers=staff)
    assert replayed.status_code == 202
    assert replayed.get_json()["replayed"] == [given_up.id]
    deliver(app)
    (again,) = deliveries(app)
    assert again.status == DeliveryStatus.DELIVERED and again.replays == 1
    assert receiver.received[-1].headers["webhook-id"] == receiver.received[0].headers["webhook-id"]
    verify(endpoint["secret"], receiver.received[-1])
    listing = client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=staff).get_json()
    assert listing["total"] == 1 and listing["items"][0]["status"] == "delivered"
    # A delivered one may be replayed too; a pending one may not.
    one = client.post(f"/api/webhooks/{endpoint['id']}/deliveries/{again.id}/replay", headers=staff)
    assert one.status_code == 202
    twice = client.post(
        f"/api/webhooks/{endpoint['id']}/deliveries/{again.id}/replay", headers=staff
    )
    assert twice.status_code in (202, 409)


def test_a_disabled_endpoint_gets_nothing_new(app, client, factory, receiver):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["ticket.submitted"])
    staff = factory.headers(STAFF)
    assert (
        client.patch(
            f"/api/webhooks/{endpoint['id']}", json={"enabled": False}, headers=staff
        ).get_json()["disabled_reason"]
        == "staff"
    )
    raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    assert receiver.received == [] and deliveries(app) == []


def test_after_a_rotation_both_secrets_verify_for_a_day(app, client, factory, receiver):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["ticket.submitted", "ticket.cancelled"])
    rotated = client.post(
        f"/api/webhooks/{endpoint['id']}/rotate-secret", headers=factory.headers(STAFF)
    )
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new["secret"] != endpoint["secret"] and new["previous_secret_expires_at"]
    raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    (received,) = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    verify(new["secret"], received)
    verify(endpoint["secret"], received)
    factory.execute(update(WebhookDelivery).values(status=DeliveryStatus.DELIVERED))


@pytest.mark.postgres_only  # without Redis the deliveries run inside the request, by design
def test_a_submission_sends_as_many_statements_with_ten_endpoints_as_without(
    app, client, factory, receiver
):
    """Recording events costs the same whatever the number of endpoints (bench/submit.py too)."""
    factory.demo()
    headers = factory.headers(REQUESTER)
    submission_statements(app, client, headers)  # warm-up: caches, first queries
    without = submission_statements(app, client, headers)
    for n in range(10):
        register(client, factory, receiver.url(f"/{n}"), ALL_EVENTS)
    with_endpoints = submission_statements(app, client, headers)
    assert with_endpoints == without


def test_closing_an_organization_sends_a_signed_contact_purged_for_each_contact(
    app, client, factory, receiver
):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["contact.purged"], organization="acme")
    acme = sorted(
        contact_id
        for (contact_id,) in factory.all(
            select(Contact.id)
            .join(Organization, Organization.id == Contact.organization_id)
            .where(Organization.slug == "acme", Contact.status != ContactStatus.ARCHIVED)
        )
    )
    closed = client.post("/api/orgs/acme/close", headers=factory.headers(STAFF))
    assert closed.status_code == 202, closed.get_json()
    run_jobs(app)
    deliver(app)
    payloads = [verify(endpoint["secret"], r) for r in receiver.of_type("contact.purged")]
    assert sorted(p["data"]["contact_id"] for p in payloads) == acme
    assert all(
        p["data"] == {"organization": "acme", "contact_id": p["data"]["contact_id"]}
        for p in payloads
    )
