"""Shapes of the webhook API: endpoints, their secret (once), deliveries."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from service.fields import PageQuery, SafeText, page_out
from service.webhooks.models import DeliveryStatus, EndpointStatus, EventType


def _url(**kwargs: Any) -> SafeText:
    return SafeText(
        validate=[
            validate.URL(schemes={"http", "https"}, require_tld=False),
            validate.Length(max=2000),
        ],
        metadata={"description": "where events are POSTed (http or https; no redirects followed)"},
        **kwargs,
    )


def _events(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Enum(EventType, by_value=True),
        validate=validate.Length(min=1, max=len(EventType)),
        metadata={"description": "the event types this endpoint receives"},
        **kwargs,
    )


class EndpointIn(Schema):
    class Meta:
        unknown = RAISE

    url = _url(required=True)
    events = _events(required=True)
    organization = SafeText(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=63),
        metadata={"description": "an organization's slug; null: every organization's events"},
    )
    description = SafeText(load_default=None, allow_none=True, validate=validate.Length(max=200))


class EndpointPatchIn(Schema):
    class Meta:
        unknown = RAISE

    url = _url()
    events = _events()
    description = SafeText(allow_none=True, validate=validate.Length(max=200))
    enabled = fields.Boolean(
        metadata={"description": "false disables the endpoint; true enables it again"}
    )


class EndpointOut(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String(allow_none=True)
    organization = fields.String(allow_none=True, metadata={"description": "null: every one"})
    events = fields.List(fields.String())
    status = fields.Enum(EndpointStatus, by_value=True)
    disabled_reason = fields.String(
        allow_none=True, metadata={"description": "`failing` (a day of failed attempts) or `staff`"}
    )
    disabled_at = fields.DateTime(allow_none=True)
    failing_since = fields.DateTime(
        allow_none=True, metadata={"description": "when its current run of failures began"}
    )
    previous_secret_expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "until then the previous secret signs too"}
    )
    created_at = fields.DateTime()


class EndpointWithSecretOut(EndpointOut):
    secret = fields.String(
        metadata={"description": "`whsec_…`: shown here only, when made or rotated"}
    )


class EndpointsOut(Schema):
    items = fields.List(fields.Nested(EndpointOut))


class DeliveryQuery(PageQuery):
    status = fields.Enum(DeliveryStatus, by_value=True, load_default=None)


class DeliveryOut(Schema):
    id = fields.Integer()
    event_id = fields.String(metadata={"description": "the `webhook-id` header"})
    event_type = fields.String()
    event_at = fields.DateTime()
    status = fields.Enum(DeliveryStatus, by_value=True)
    attempts = fields.Integer()
    replays = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(
        allow_none=True, metadata={"description": "HTTP status or error type"}
    )
    last_attempt_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


DeliveriesOut = page_out("DeliveriesOut", DeliveryOut)


class ReplayedOut(Schema):
    replayed = fields.List(fields.Integer(), metadata={"description": "delivery ids sent again"})
