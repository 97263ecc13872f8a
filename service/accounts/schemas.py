"""Shapes of sign-in and account input and output."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.fields import EmailText, UtcDateTime


class TokenIn(Schema):
    class Meta:
        unknown = RAISE

    email = EmailText(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenOut(Schema):
    token = fields.String()
    expires_at = UtcDateTime()


class MembershipOut(Schema):
    organization = fields.String(metadata={"description": "The organization's slug."})
    contact_id = fields.Integer(metadata={"description": "The account's contact there."})
    roles = fields.List(fields.String(), metadata={"description": "Codes of the roles held."})


class MeOut(Schema):
    email = fields.String()
    staff = fields.Boolean()
    organization = fields.String(
        metadata={"description": "The home organization: the vendor's for staff."}
    )
    manages = fields.List(fields.String())
    memberships = fields.List(
        fields.Nested(MembershipOut),
        metadata={
            "description": "Every organization the account is an active contact of (one login, "
            "any number of organizations); empty for staff."
        },
    )


class ActivateIn(Schema):
    class Meta:
        unknown = RAISE

    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class ActivatedOut(Schema):
    email = fields.String()
    status = fields.String()


class PasswordResetIn(Schema):
    class Meta:
        unknown = RAISE

    email = EmailText(required=True, validate=validate.Length(min=1, max=254))


class AcceptedOut(Schema):
    status = fields.String()


class StaffAccountIn(Schema):
    class Meta:
        unknown = RAISE

    email = EmailText(required=True, validate=[validate.Length(min=3, max=254), validate.Email()])
    permissions = fields.List(
        fields.String(validate=validate.OneOf(["staff:manage"])),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={
            "description": "Staff-only permissions: `staff:manage` adds and deactivates "
            "staff accounts."
        },
    )


class StaffAccountOut(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)
    status = fields.String()
    permissions = fields.List(fields.String())
    created_at = UtcDateTime()


class StaffAccountsOut(Schema):
    items = fields.List(fields.Nested(StaffAccountOut))
