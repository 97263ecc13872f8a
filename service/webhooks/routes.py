"""`/api/webhooks`: staff register endpoints, rotate secrets, follow and replay deliveries.
Thin: the rules are in service.py."""

from __future__ import annotations

from service.accounts.caller import current_actor, load_actor
from service.extensions import Blueprint, db
from service.read_only import reads_only
from service.webhooks import service as webhooks
from service.webhooks.schemas import (
    DeliveriesOut,
    DeliveryQuery,
    EndpointIn,
    EndpointOut,
    EndpointPatchIn,
    EndpointsOut,
    EndpointWithSecretOut,
    ReplayedOut,
)

blp = Blueprint("webhooks", __name__, description="Signed webhooks (Standard Webhooks), for staff")
blp.before_request(load_actor)


@blp.get("/webhooks")
@reads_only
@blp.response(200, EndpointsOut)
def list_endpoints():
    """Every webhook endpoint."""
    return {"items": webhooks.list_endpoints(session=db.session(), actor=current_actor())}


@blp.post("/webhooks")
@blp.arguments(EndpointIn)
@blp.response(201, EndpointWithSecretOut)
def register(payload):
    """Register an endpoint for every organization or one; the answer holds its secret, once."""
    endpoint = webhooks.register(session=db.session(), actor=current_actor(), data=payload)
    db.session.commit()
    return endpoint


@blp.get("/webhooks/<int:endpoint_id>")
@reads_only
@blp.response(200, EndpointOut)
def get_endpoint(endpoint_id):
    """One endpoint (without its secret)."""
    return webhooks.get_endpoint(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id
    )


@blp.patch("/webhooks/<int:endpoint_id>")
@blp.arguments(EndpointPatchIn)
@blp.response(200, EndpointOut)
def change(payload, endpoint_id):
    """Change an endpoint; `enabled: true` enables a disabled one, and its pending deliveries
    resume."""
    endpoint = webhooks.change(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id, data=payload
    )
    db.session.commit()
    return endpoint


@blp.delete("/webhooks/<int:endpoint_id>")
@blp.response(204)
def remove(endpoint_id):
    """Remove an endpoint and its deliveries."""
    webhooks.remove(session=db.session(), actor=current_actor(), endpoint_id=endpoint_id)
    db.session.commit()


@blp.post("/webhooks/<int:endpoint_id>/rotate-secret")
@blp.response(200, EndpointWithSecretOut)
def rotate_secret(endpoint_id):
    """A new secret; the previous one also signs for 24 hours."""
    endpoint = webhooks.rotate_secret(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id
    )
    db.session.commit()
    return endpoint


@blp.get("/webhooks/<int:endpoint_id>/deliveries")
@reads_only
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, DeliveriesOut)
def deliveries(query, endpoint_id):
    """The endpoint's deliveries, newest first, with status and attempts."""
    return webhooks.list_deliveries(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id, **query
    )


@blp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@blp.response(202, ReplayedOut)
def replay(endpoint_id, delivery_id):
    """Send a delivered or failed delivery again (same `webhook-id`); 409 while it is pending."""
    replayed = webhooks.replay(
        session=db.session(),
        actor=current_actor(),
        endpoint_id=endpoint_id,
        delivery_id=delivery_id,
    )
    db.session.commit()
    return {"replayed": [replayed]}


@blp.post("/webhooks/<int:endpoint_id>/replay-failed")
@blp.response(202, ReplayedOut)
def replay_failed(endpoint_id):
    """Send every failed delivery of the endpoint again."""
    replayed = webhooks.replay_failed(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id
    )
    db.session.commit()
    return {"replayed": replayed}
