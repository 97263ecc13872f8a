"""Shapes of organization input and output: plans, delegations, invitations."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.fields import StrictInt


class OrganizationPlanOut(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    seat_limit = fields.Integer(allow_none=True)
    active_contacts = fields.Integer()


class OrganizationPatchIn(Schema):
    class Meta:
        unknown = RAISE

    seat_limit = StrictInt(
        required=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000)
    )


class DelegationOut(Schema):
    organization = fields.String()
    organization_name = fields.String()
    granted_at = fields.String()
    ticket = fields.String(allow_none=True)


class DelegationsOut(Schema):
    items = fields.List(fields.Nested(DelegationOut))


class InvitationOut(Schema):
    contact_id = fields.Integer()
    email = fields.String()
    sent_at = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    status = fields.String()


class InvitationsOut(Schema):
    items = fields.List(fields.Nested(InvitationOut))
