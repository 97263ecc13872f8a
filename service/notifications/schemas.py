"""Shapes of the emails staff look at: the filter and one page of emails."""

from __future__ import annotations

from marshmallow import Schema, fields

from service.fields import PageQuery, page_out
from service.notifications.models import EmailStatus


class EmailQuery(PageQuery):
    status = fields.Enum(EmailStatus, by_value=True, load_default=EmailStatus.FAILED)


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


EmailsOut = page_out("EmailsOut", EmailOut)
