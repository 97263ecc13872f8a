"""Shapes of the role catalog and the roster."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.contacts.paging import ACCOUNT_STATUSES, DEFAULT_LIMIT, MAX_LIMIT, decode_cursor
from service.fields import (
    CodedMessage,
    FullMatch,
    RoleCounts,
    Rows,
    SafeText,
    StrictBool,
    UtcDateTime,
)
from service.vocabulary import ALL_PERMISSIONS, ContactStatus

PERMISSION = r"^[a-z][a-z_]{0,30}:(view|edit|manage|comment)$"
KEY = r"^[a-z][a-z0-9_]{0,49}$"


class Cursor(fields.Field):
    """A `next_cursor` of an earlier page, loaded as the contact id it continues after (text
    that is not one of our cursors is refused whole, so no free text gets through)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"type": "string", **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        after = decode_cursor(value) if isinstance(value, str) else None
        if after is None:
            raise ValidationError(
                CodedMessage("Not a cursor of this API: pass a next_cursor.", "invalid_field")
            )
        return after


class MatrixRowOut(Schema):
    """One module of a role's permission matrix; `view`/`edit` null where the module has no
    such right."""

    module = fields.String()
    name = fields.String()
    view = fields.Boolean(allow_none=True)
    edit = fields.Boolean(allow_none=True)


class RoleOut(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    audience = fields.String()
    permissions = fields.List(
        fields.String(),
        attribute="granted",
        metadata={
            "description": "What the role's holders may do; for a role that grants everything, "
            "every permission of the matrix but its `exceptions`."
        },
    )
    grants_all = fields.Boolean(
        metadata={"description": "The role grants everything except its `exceptions`."}
    )
    exceptions = fields.List(
        fields.String(),
        metadata={"description": "What a role that grants everything does not grant."},
    )
    matrix = fields.List(
        fields.Nested(MatrixRowOut),
        metadata={"description": "The permissions per module, view and edit."},
    )
    emails = fields.List(fields.String())
    required = fields.Boolean()
    incompatible_with = fields.List(fields.String())


class RolesOut(Schema):
    roles = fields.List(fields.Nested(RoleOut))


class RosterQuery(Schema):
    """Without `limit`, `cursor`, `q`, `role`, `status` or `account_status` the whole roster, as
    in v1; with any of them one page of the matching contacts, and `total`, `next_cursor` and
    `holders` beside them."""

    class Meta:
        unknown = RAISE

    view = fields.String(
        load_default="current",
        validate=validate.OneOf(["current", "pending"]),
        metadata={
            "description": "`pending` adds to each contact what the pending request asks for "
            "(`requested`) and lists the contacts it adds (`id` null, with their `ref`); "
            "on a paged answer, the new contacts come on the first page."
        },
    )
    limit = fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Contacts per page (default {DEFAULT_LIMIT})."},
    )
    cursor = Cursor(
        metadata={"description": "The `next_cursor` of the previous page; opaque."},
    )
    q = SafeText(
        validate=validate.Length(max=254),
        metadata={
            "description": "Case-insensitive prefix of the first name, the last name, "
            '"first last" or the email.'
        },
    )
    role = fields.String(
        validate=FullMatch(KEY, error="Use a role code of the catalog."),
        metadata={"description": "Only contacts holding this role (a code of /api/roles)."},
    )
    status = fields.String(
        validate=validate.OneOf([ContactStatus.ACTIVE.value, ContactStatus.DEACTIVATED.value]),
        metadata={"description": "Only contacts of this status."},
    )
    account_status = fields.String(
        validate=validate.OneOf(ACCOUNT_STATUSES),
        metadata={"description": "Only contacts whose account has this status."},
    )


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
    alternate_email = fields.String(allow_none=True)
    assistant_id = fields.Integer(
        allow_none=True,
        metadata={"description": "Their assistant or additional contact: another contact's id."},
    )
    job_title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    status = fields.String()
    roles = fields.List(fields.String())


class RosterContactOut(ContactOut):
    account_status = fields.String()
    requested = fields.Nested(RequestedOut)


class ContactNameOut(Schema):
    id = fields.Integer()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class ActivityOut(Schema):
    at = UtcDateTime()
    ticket = fields.String()
    url = fields.String()
    action = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)


class ContactDetailOut(RosterContactOut):
    """One contact: the roster's fields, their assistant, those they assist, and every ticket
    event that touched them, newest first."""

    assistant = fields.Nested(ContactNameOut, allow_none=True)
    assisting = fields.List(fields.Nested(ContactNameOut))
    activity = fields.List(fields.Nested(ActivityOut))


class OrganizationOut(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    seat_limit = fields.Integer(allow_none=True)


class RosterOut(Schema):
    """The roster; `total`, `next_cursor` and `holders` only in a paged answer."""

    organization = fields.Nested(OrganizationOut)
    version = fields.Integer()
    required_roles = fields.List(fields.String())
    pending_ticket = fields.String(allow_none=True)
    contacts = Rows(RosterContactOut)
    total = fields.Integer(
        metadata={"description": "Contacts matching the filters, on every page together."}
    )
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page."},
    )
    holders = RoleCounts(
        "For each role of the catalog open to this organization, how many active contacts hold "
        "it (the whole roster, whatever the filters)."
    )


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
    grants_all = StrictBool(
        metadata={
            "description": "true: the role grants every permission of the matrix but its "
            "`exceptions` (its `permissions` are then not given); false: it grants its "
            "`permissions`."
        }
    )
    exceptions = fields.List(
        fields.String(
            validate=validate.OneOf(
                sorted(ALL_PERMISSIONS), error="Use a permission of the matrix."
            )
        ),
        validate=validate.Length(max=50),
    )
    required = StrictBool()
    incompatible_with = fields.List(
        fields.String(validate=FullMatch(KEY)), validate=validate.Length(max=50)
    )

    @validates_schema
    def _listed_or_everything(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("grants_all") and "permissions" in data:
            raise ValidationError(
                "A role that grants everything lists its exceptions, not its permissions.",
                "permissions",
            )


class RoleIn(RolePatchIn):
    code = fields.String(required=True, validate=FullMatch(KEY, error="Use a snake_case code."))
    name = SafeText(required=True, validate=validate.Length(min=1, max=100))


class RoleWriteQuery(Schema):
    class Meta:
        unknown = RAISE

    dry_run = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: check the role and report `violations` (the organizations "
            "a newly required role would leave without a holder) without storing anything."
        },
    )


class RoleChangedOut(RoleOut):
    # Customer organizations where no active contact holds the role, now that it is required.
    violations = fields.List(fields.String())


class SubjectAccessOut(Schema):
    """Everything held about one contact, by table of the personal-data registry."""

    contact_id = fields.Integer()
    exported_at = fields.String(metadata={"description": "ISO 8601 UTC"})
    roles = fields.List(fields.String())
    tickets = fields.List(
        fields.String(), metadata={"description": "references that mention it or it raised"}
    )
    held = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={
            "description": "table -> its rows that belong to the contact, every column; "
            "password and token digests only as true (held) or false"
        },
    )
    mentioned_in = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={
            "description": "table -> rows of free text (`id` and the text) in the contact's "
            "tickets that mention the contact: what a purge would rewrite"
        },
    )
