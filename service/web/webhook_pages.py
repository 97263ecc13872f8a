"""The staff Webhooks page: each endpoint, its deliveries by status, enable it again and replay
what failed. Registering and rotating secrets are in the API (`/api/webhooks`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from service.extensions import db
from service.web.blueprints import bp
from service.web.session import current_actor, page
from service.webhooks import service as webhooks


@bp.get("/webhooks")
@page
def webhooks_page():
    """Every endpoint with its deliveries by status (staff)."""
    session = db.session()
    endpoints = webhooks.list_endpoints(session=session, actor=current_actor())
    return render_template(
        "web/webhooks.html",
        endpoints=endpoints,
        counts=webhooks.delivery_counts(session=session),
    )


@bp.post("/webhooks/<int:endpoint_id>/enable")
@page
def enable_webhook(endpoint_id: int):
    """Enable a disabled endpoint again; its pending deliveries resume."""
    webhooks.change(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id, data={"enabled": True}
    )
    db.session.commit()
    flash(f"Endpoint {endpoint_id} is enabled.", "success")
    return redirect(url_for("web.webhooks_page"))


@bp.post("/webhooks/<int:endpoint_id>/replay-failed")
@page
def replay_failed_webhooks(endpoint_id: int):
    """Send every failed delivery of the endpoint again."""
    replayed = webhooks.replay_failed(
        session=db.session(), actor=current_actor(), endpoint_id=endpoint_id
    )
    db.session.commit()
    flash(f"{len(replayed)} deliveries to endpoint {endpoint_id} are sent again.", "success")
    return redirect(url_for("web.webhooks_page"))
