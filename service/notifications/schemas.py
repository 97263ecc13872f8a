"""Shapes of the emails staff look at: the filter and one page of emails."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.notifications.models import EmailStatus


class EmailQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Enum(EmailStatus, by_value=True, load_default=EmailStatus.FAILED)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class EmailOut(Schema):
    id = fields.Integer()
    ticket = fields.String(allow_none=True, metadata={"description": "reference, e.g. CR-000123"})
    template = fields.String()
    recipient = fields.String(allow_none=True)
    status = fields.Enum(EmailStatus, by_value=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={"description": "no personal data"})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class EmailsOut(Schema):
    items = fields.List(fields.Nested(EmailOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
