"""Shapes of the role catalog and the roster."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class RoleOut(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    audience = fields.String()
    permissions = fields.List(fields.String())
    emails = fields.List(fields.String())
    required = fields.Boolean()
    incompatible_with = fields.List(fields.String())


class RolesOut(Schema):
    roles = fields.List(fields.Nested(RoleOut))


class RosterQuery(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(load_default="current", validate=validate.OneOf(["current", "pending"]))


class RequestedOut(Schema):
    roles = fields.List(fields.String())
    status = fields.String()
    delete = fields.Boolean()
    # Last: the name shadows marshmallow's `fields` module for the rest of the class body.
    fields = fields.Dict(  # type: ignore[assignment]
        keys=fields.String(), values=fields.String(allow_none=True)
    )


class RosterContactOut(Schema):
    id = fields.Integer(allow_none=True)
    ref = fields.String()
    salutation = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    status = fields.String()
    roles = fields.List(fields.String())
    account_status = fields.String()
    requested = fields.Nested(RequestedOut)


class OrganizationOut(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    seat_limit = fields.Integer(allow_none=True)


class RosterOut(Schema):
    organization = fields.Nested(OrganizationOut)
    version = fields.Integer()
    required_roles = fields.List(fields.String())
    pending_ticket = fields.String(allow_none=True)
    contacts = fields.List(fields.Nested(RosterContactOut))
