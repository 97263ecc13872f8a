"""Shapes of the role catalog and the roster."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.fields import FullMatch, SafeText, StrictBool


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


class ContactOut(Schema):
    """A contact's details as the roster and the projected roster show them."""

    id = fields.Integer(allow_none=True)
    ref = fields.String(allow_none=True)
    salutation = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    status = fields.String()
    roles = fields.List(fields.String())


class RosterContactOut(ContactOut):
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


PERMISSION = r"^[a-z][a-z_]{0,30}:(view|edit|manage)$"
KEY = r"^[a-z][a-z0-9_]{0,49}$"


class RolePatchIn(Schema):
    """A role's changeable fields; permissions are `module:action` with view, edit or manage."""

    class Meta:
        unknown = RAISE

    name = SafeText(validate=validate.Length(min=1, max=100))
    description = SafeText(validate=validate.Length(max=500))
    audience = fields.String(validate=validate.OneOf(["customer", "purchaser", "any"]))
    permissions = fields.List(
        fields.String(
            validate=FullMatch(PERMISSION, error="Use module:view, module:edit or module:manage.")
        ),
        validate=validate.Length(max=50),
    )
    emails = fields.List(
        fields.String(validate=FullMatch(KEY, error="Use a snake_case email name.")),
        validate=validate.Length(max=50),
    )
    required = StrictBool()
    incompatible_with = fields.List(
        fields.String(validate=FullMatch(KEY)), validate=validate.Length(max=50)
    )


class RoleIn(RolePatchIn):
    code = fields.String(required=True, validate=FullMatch(KEY, error="Use a snake_case code."))
    name = SafeText(required=True, validate=validate.Length(min=1, max=100))


class RoleChangedOut(RoleOut):
    # Customer organizations where no active contact holds the role, now that it is required.
    violations = fields.List(fields.String())
