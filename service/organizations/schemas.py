"""Shapes of organization input and output: onboarding, plans, delegations, invitations."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from service.config import MAX_TARGET_HOURS
from service.fields import CodedMessage, FullMatch, SafeText, StrictInt, UtcDateTime
from service.requests.schemas import ContactFields
from service.vocabulary import CONTACT_FIELDS

# A short name: what URLs and scripts call the organization (`/api/orgs/<slug>`).
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
SEAT_LIMIT = validate.Range(min=1, max=1_000_000)
TARGET_HOURS = validate.Range(min=1, max=MAX_TARGET_HOURS)
PLAN = r"^[a-z][a-z0-9_-]{0,39}$"


class ServiceLevelsOut(Schema):
    first_response_hours = fields.Integer()
    resolution_hours = fields.Integer()


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
    status = fields.String(metadata={"enum": ["open", "closed"]})
    closed_at = UtcDateTime(allow_none=True)
    plan = fields.String(metadata={"description": "The service-level plan (one of SLA_PLANS)."})
    sla_first_response_hours = fields.Integer(
        allow_none=True,
        metadata={"description": "Override of the first-response target; null: the plan's."},
    )
    sla_resolution_hours = fields.Integer(
        allow_none=True,
        metadata={"description": "Staff's override of the resolution target; null: the plan's."},
    )
    service_levels = fields.Nested(
        ServiceLevelsOut, metadata={"description": "The targets that apply, in business hours."}
    )


class OrganizationsOut(Schema):
    items = fields.List(fields.Nested(OrganizationPlanOut))


class OrganizationPatchIn(Schema):
    """What staff change of an organization: any of its name, its plan's seat limit, the
    details a new contact must carry, its service-level plan and the overrides of its targets."""

    class Meta:
        unknown = RAISE

    name = SafeText(validate=validate.Length(min=1, max=200))
    seat_limit = StrictInt(
        allow_none=True,
        validate=SEAT_LIMIT,
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

    plan = SafeText(
        validate=FullMatch(PLAN, error="A plan's name, such as standard or premium."),
        metadata={"description": "The service-level plan: one of SLA_PLANS (`unknown_plan`)."},
    )
    sla_first_response_hours = StrictInt(
        allow_none=True,
        validate=TARGET_HOURS,
        metadata={"description": "First-response target in business hours; `null`: the plan's."},
    )
    sla_resolution_hours = StrictInt(
        allow_none=True,
        validate=TARGET_HOURS,
        metadata={"description": "Resolution target in business hours; `null`: the plan's."},
    )

    @validates_schema
    def _something_and_email(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError(
                CodedMessage(
                    "Give name, seat_limit, required_fields, plan, sla_first_response_hours, "
                    "sla_resolution_hours or more.",
                    "missing_field",
                ),
                "_schema",
            )
        if "required_fields" in data and "email" not in data["required_fields"]:
            raise ValidationError("A new contact always needs an email.", "required_fields")


class FirstAdminIn(ContactFields):
    """The first administrator: a contact's fields (checked as a batch's new contact is), and
    the roles to give (by default every required role of the kind and one that manages
    contacts)."""

    roles = fields.List(
        SafeText(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(min=1, max=50),
    )


class OrganizationCreateIn(Schema):
    class Meta:
        unknown = RAISE

    name = SafeText(required=True, validate=validate.Length(min=1, max=200))
    slug = SafeText(
        required=True,
        validate=FullMatch(
            SLUG,
            error="Lower-case letters, digits and dashes, starting and ending with a letter or "
            "digit (at most 63).",
        ),
    )
    kind = fields.String(required=True, validate=validate.OneOf(["customer", "purchaser"]))
    seat_limit = StrictInt(allow_none=True, load_default=None, validate=SEAT_LIMIT)
    first_admin = fields.Nested(FirstAdminIn, required=True)


class FirstAdminOut(Schema):
    contact_id = fields.Integer()
    email = fields.String()
    account_status = fields.String()


class OrganizationCreatedOut(OrganizationPlanOut):
    first_admin = fields.Nested(FirstAdminOut)


class DelegationOut(Schema):
    organization = fields.String()
    organization_name = fields.String()
    granted_at = UtcDateTime()
    ticket = fields.String(allow_none=True)


class DelegationsOut(Schema):
    items = fields.List(fields.Nested(DelegationOut))


class InvitationOut(Schema):
    contact_id = fields.Integer()
    email = fields.String()
    sent_at = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    accepted_at = fields.String(allow_none=True)
    status = fields.String(
        metadata={"description": "pending, expired, revoked, accepted or never_sent"}
    )


class InvitationsOut(Schema):
    items = fields.List(fields.Nested(InvitationOut))


class ResentOut(Schema):
    resent = fields.Integer(metadata={"description": "Expired invitations sent a new link"})
