"""Shapes of sign-in and account input and output."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.fields import EmailText


class TokenIn(Schema):
    class Meta:
        unknown = RAISE

    email = EmailText(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenOut(Schema):
    token = fields.String()
    expires_at = fields.String()


class MeOut(Schema):
    email = fields.String()
    staff = fields.Boolean()
    organization = fields.String()
    manages = fields.List(fields.String())


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
