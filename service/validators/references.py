"""Rules about what items point at: contacts, roles and organizations that must exist."""

from __future__ import annotations

from service.validators.projection import details_given, first_refs, project
from service.validators.types import CheckContext, ContactKey, Finding, OrgInfo
from service.vocabulary import ASSISTANT, ContactStatus, Op

DELEGATE_KINDS = ("purchaser",)
UNKNOWN_DELEGATE = "No purchaser organization has this short name."
OWN_ORGANIZATION = "This is your own organization: give access to a purchaser organization."
DELEGATION_MISSING = "This organization has no delegated access to end."


def unknown_contact(ctx: CheckContext) -> list[Finding]:
    """Every contact_id is a contact of this organization; every ref is added by the batch."""
    refs = first_refs(ctx)
    findings = []
    for position, item in enumerate(ctx.changes):
        if "contact_id" in item and item["contact_id"] not in ctx.roster:
            findings.append(
                Finding(
                    "unknown_contact",
                    f"changes/{position}/contact_id",
                    "No contact with this id belongs to this organization.",
                )
            )
        elif item["op"] != Op.ADD_CONTACT and "ref" in item and item["ref"] not in refs:
            findings.append(
                Finding(
                    "unknown_contact",
                    f"changes/{position}/ref",
                    "No add_contact item of this batch uses this ref.",
                )
            )
    return findings


def unknown_role(ctx: CheckContext) -> list[Finding]:
    """Every role is in the catalog and meant for this kind of organization."""
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] == Op.ADD_CONTACT:
            named = [
                (f"changes/{position}/roles/{index}", code)
                for index, code in enumerate(item.get("roles", ()))
            ]
        elif "role" in item:
            named = [(f"changes/{position}/role", item["role"])]
        else:
            continue
        for path, code in named:
            problem = _role_problem(ctx, code)
            if problem:
                findings.append(Finding("unknown_role", path, problem))
    return findings


def _role_problem(ctx: CheckContext, code: str) -> str | None:
    role = ctx.catalog.get(code)
    if role is None:
        return "This role is not in the catalog; GET /api/roles lists the roles."
    if role.audience not in ("any", ctx.organization.kind):
        return f"The role {role.name} is not available to {ctx.organization.kind} organizations."
    return None


def delegations(ctx: CheckContext) -> list[Finding]:
    """Delegate items name a purchaser organization, granted once and revoked only if held.

    A slug that names no organization, and one the customer may not name (any organization that
    is not a purchaser), get one and the same answer: a batch learns nothing about which
    organizations exist. Its own organization, no secret, gets its own answer. Revoking answers
    alike for every organization that holds no delegation.
    """
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] not in (Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE):
            continue
        path = f"changes/{position}/organization"
        other = ctx.organizations.get(item["organization"])
        if item["op"] == Op.REVOKE_DELEGATE:
            if other is None or other.id not in ctx.delegate_ids:
                findings.append(Finding("delegation_missing", path, DELEGATION_MISSING))
        elif item["organization"] == ctx.organization.slug:
            # Not a secret: the admin's own organization gets its own answer.
            findings.append(Finding("unknown_organization", path, OWN_ORGANIZATION))
        elif not may_be_delegate(ctx, other):
            findings.append(Finding("unknown_organization", path, UNKNOWN_DELEGATE))
        elif other is not None and other.id in ctx.delegate_ids:
            findings.append(
                Finding(
                    "delegation_exists", path, "This organization already has delegated access."
                )
            )
    return findings


def may_be_delegate(ctx: CheckContext, other: OrgInfo | None) -> bool:
    """Whether the customer may name this organization as its delegate."""
    return other is not None and other.id != ctx.organization.id and other.kind in DELEGATE_KINDS


def assistant(ctx: CheckContext) -> list[Finding]:
    """An assistant (or additional contact) is another contact of this organization, active
    once the batch is applied."""
    projection = project(ctx)
    findings = []
    for item, details, prefix in details_given(ctx.changes):
        chosen, path = details.get(ASSISTANT), f"{prefix}/{ASSISTANT}"
        if chosen is None:
            continue
        other = projection.contacts.get(ContactKey.of_id(chosen))
        if item.get("contact_id") == chosen:
            findings.append(
                Finding("invalid_field", path, "A contact cannot be their own assistant.")
            )
        elif other is None or other.status != ContactStatus.ACTIVE:
            findings.append(
                Finding(
                    "unknown_contact",
                    path,
                    "The assistant must be an active contact of this organization.",
                )
            )
    return findings
