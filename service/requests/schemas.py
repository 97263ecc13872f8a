"""Shapes of change-request input and output. Shape only: the rules live in service/validators."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.contacts.schemas import ContactOut
from service.errors import ErrorDetailSchema
from service.fields import CodedMessage, EmailText, RoleCounts, SafeText, StrictBool, StrictInt
from service.loading import loader
from service.models_base import MAX_ID
from service.vocabulary import Op

OPERATIONS = tuple(Op)


def _id_field(**kwargs: Any) -> StrictInt:
    return StrictInt(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class ContactFields(Schema):
    """Contact details; every key optional here, the rules decide what a new contact needs."""

    class Meta:
        unknown = RAISE

    salutation = SafeText(allow_none=True, validate=validate.Length(max=20))
    first_name = SafeText(allow_none=True, validate=validate.Length(max=100))
    last_name = SafeText(allow_none=True, validate=validate.Length(max=100))
    email = EmailText(allow_none=True, validate=validate.Length(max=254))
    alternate_email = EmailText(allow_none=True, validate=validate.Length(max=254))
    assistant_id = _id_field(
        allow_none=True,
        metadata={"description": "Their assistant or additional contact: another contact's id."},
    )
    job_title = SafeText(allow_none=True, validate=validate.Length(max=100))
    phone = SafeText(allow_none=True, validate=validate.Length(max=40))
    mobile = SafeText(allow_none=True, validate=validate.Length(max=40))


class _Item(Schema):
    class Meta:
        unknown = RAISE

    op = fields.String(required=True, validate=validate.OneOf(OPERATIONS))


class AddContactItem(_Item):
    ref = SafeText(required=True, validate=validate.Length(min=1, max=50))
    contact = fields.Nested(ContactFields, required=True)
    roles = fields.List(
        SafeText(validate=validate.Length(min=1, max=50)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    # False: no account and no email now; the person claims the account later through
    # "Forgot password" (an address that already has an account joins it silently).
    invite = StrictBool(
        metadata={"description": "Send the invitation (default true)."},
    )


class UpdateContactItem(_Item):
    contact_id = _id_field(required=True)
    # Named as in docs/api.md; it shadows Schema.fields only for the type checker.
    fields = fields.Nested(ContactFields, required=True)  # type: ignore[assignment]


class RoleItem(_Item):
    contact_id = _id_field()
    ref = SafeText(validate=validate.Length(min=1, max=50))
    role = SafeText(required=True, validate=validate.Length(min=1, max=50))

    @validates_schema
    def _one_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("contact_id" in data) == ("ref" in data):
            raise ValidationError(
                CodedMessage(
                    "Name the contact with exactly one of contact_id or ref.", "missing_field"
                ),
                "contact_id",
            )


class ContactItem(_Item):
    contact_id = _id_field(required=True)


class DelegateItem(_Item):
    organization = SafeText(required=True, validate=validate.Length(min=1, max=63))


ITEM_SCHEMAS: dict[str, type[_Item]] = {
    Op.ADD_CONTACT: AddContactItem,
    Op.UPDATE_CONTACT: UpdateContactItem,
    Op.GRANT_ROLE: RoleItem,
    Op.REVOKE_ROLE: RoleItem,
    Op.DEACTIVATE_CONTACT: ContactItem,
    Op.REACTIVATE_CONTACT: ContactItem,
    Op.DELETE_CONTACT: ContactItem,
    Op.GRANT_DELEGATE: DelegateItem,
    Op.REVOKE_DELEGATE: DelegateItem,
    Op.INVITE_CONTACT: ContactItem,
}
_LOADERS = {op: schema() for op, schema in ITEM_SCHEMAS.items()}
# The same loads compiled (service/loading.py): a batch holds up to thousands of items.
_COMPILED = {op: loader(schema) for op, schema in _LOADERS.items()}


class ChangeItem(fields.Field):
    """One batch item, loaded by the schema of its `op`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("Each change must be an object with an `op`.")
        op = value.get("op")
        if op is None:
            raise ValidationError({"op": [CodedMessage("Give the operation.", "missing_field")]})
        if not isinstance(op, str) or op not in _LOADERS:
            raise ValidationError(
                {"op": ["Unknown operation. Use one of: " + ", ".join(OPERATIONS) + "."]}
            )
        compiled = _COMPILED[op]
        loaded = compiled(value) if compiled is not None else None
        return loaded if loaded is not None else _LOADERS[op].load(value)


class Changes(fields.List):
    """The batch: refused early when empty or larger than the configured maximum."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChangeItem(), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list):
            limit = current_app.config["MAX_BATCH_SIZE"]
            if not value:
                raise ValidationError(CodedMessage("The batch has no changes.", "empty_batch"))
            if len(value) > limit:
                raise ValidationError(
                    CodedMessage(
                        f"The batch has {len(value)} changes; the most allowed is {limit}.",
                        "batch_too_large",
                    )
                )
        return super()._deserialize(value, attr, data, **kwargs)


class ChangeRequestIn(Schema):
    class Meta:
        unknown = RAISE

    base_version = StrictInt(required=True, validate=validate.Range(min=0, max=MAX_ID))
    comment = SafeText(
        multiline=True, allow_none=True, load_default=None, validate=validate.Length(max=4000)
    )
    changes = Changes(required=True)


class FindingOut(ErrorDetailSchema):
    """A finding of the rules: the item of a refused batch's `errors`, so the same shape."""


class TicketLinkOut(Schema):
    reference = fields.String()
    status = fields.String()
    url = fields.String()


class SubmittedOut(Schema):
    ticket = fields.Nested(TicketLinkOut)
    warnings = fields.List(fields.Nested(FindingOut))


class ValidateQuery(Schema):
    class Meta:
        unknown = RAISE

    projected = fields.String(
        validate=validate.OneOf(["changed"]),
        metadata={
            "description": "`changed`: `projected.contacts` lists only the contacts the batch "
            "touches (and the ones it adds), beside `holders` and `active_contacts` after it. "
            "Without it, the whole roster after the batch."
        },
    )


class ProjectedOut(Schema):
    contacts = fields.List(fields.Nested(ContactOut))
    holders = RoleCounts(
        "With `?projected=changed`: for each role open to the organization, the active contacts "
        "holding it once the batch is applied."
    )
    active_contacts = fields.Integer(
        metadata={
            "description": "With `?projected=changed`: the active contacts once the batch is "
            "applied (what the seat limit counts)."
        }
    )


class ChangeLineOut(Schema):
    """One item of a batch as a person reads it (`service/requests/describe.py`)."""

    position = fields.Integer()
    op = fields.String()
    contact_id = fields.Integer(allow_none=True)
    ref = fields.String(allow_none=True)
    contact = fields.String(metadata={"description": "Who the item is about, by name."})
    summary = fields.String(metadata={"description": "The item in one sentence."})
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class DryRunOut(Schema):
    valid = fields.Boolean()
    errors = fields.List(fields.Nested(FindingOut))
    warnings = fields.List(fields.Nested(FindingOut))
    projected = fields.Nested(ProjectedOut)
    changes = fields.List(
        fields.Nested(ChangeLineOut),
        metadata={
            "description": "Each item of the batch as a readable line, worded as the ticket "
            "will word it once submitted."
        },
    )
