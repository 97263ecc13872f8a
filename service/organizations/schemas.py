"""Shapes of organization input and output: plans, delegations, invitations."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.fields import StrictInt
from service.vocabulary import CONTACT_FIELDS


class OrganizationPlanOut(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    seat_limit = fields.Integer(allow_none=True)
    active_contacts = fields.Integer()
    required_fields = fields.List(
        fields.String(),
        metadata={"description": "The details a new contact must carry, in form order."},
    )


class OrganizationPatchIn(Schema):
    """What staff change of an organization: any of its plan's seat limit and the details a
    new contact must carry."""

    class Meta:
        unknown = RAISE

    seat_limit = StrictInt(
        allow_none=True,
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "The most active contacts; `null` for no limit."},
    )
    required_fields = fields.List(
        fields.String(validate=validate.OneOf(CONTACT_FIELDS)),
        validate=validate.Length(max=len(CONTACT_FIELDS)),
        metadata={
            "description": "The contact details a new contact must carry (the email always: "
            "accounts and uniqueness need it). Default: salutation, first name, last name, email."
        },
    )

    @validates_schema
    def _something_and_email(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give seat_limit, required_fields or both.", "_schema")
        if "required_fields" in data and "email" not in data["required_fields"]:
            raise ValidationError("A new contact always needs an email.", "required_fields")


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
