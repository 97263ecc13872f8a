"""The staff Webhooks page: endpoints with their deliveries, enable again, replay what failed."""

from __future__ import annotations

from sqlalchemy import update

from service.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.web.forms import csrf_token, sign_in
from tests.webhooks.support import deliver, deliveries, register


def test_staff_see_endpoints_enable_one_and_replay_its_failed_deliveries(
    app, client, factory, receiver
):
    factory.demo()
    endpoint = register(client, factory, receiver.url(), ["ticket.submitted"])
    client.patch(
        f"/api/webhooks/{endpoint['id']}", json={"enabled": False}, headers=factory.headers(STAFF)
    )
    client.patch(
        f"/api/webhooks/{endpoint['id']}", json={"enabled": True}, headers=factory.headers(STAFF)
    )
    raise_ticket(client, factory.headers(REQUESTER))
    deliver(app)
    factory.execute(update(WebhookDelivery).values(status=DeliveryStatus.FAILED))
    browser = app.test_client()
    assert sign_in(browser, STAFF).status_code == 302
    listing = browser.get("/webhooks")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert receiver.url() in text and "Replay failed" in text
    token = csrf_token(browser, "/webhooks")
    replayed = browser.post(f"/webhooks/{endpoint['id']}/replay-failed", data={"csrf_token": token})
    assert replayed.status_code == 302
    deliver(app)
    (delivery,) = deliveries(app)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.replays == 1
    assert len(receiver.received) == 2


def test_a_customer_may_not_open_the_webhooks_page(app, factory):
    factory.demo()
    browser = app.test_client()
    assert sign_in(browser, REQUESTER).status_code == 302
    assert browser.get("/webhooks").status_code == 403
    token = csrf_token(browser, "/account")
    assert browser.post("/webhooks/1/enable", data={"csrf_token": token}).status_code == 403
