"""Rules about what items point at: contacts, roles and organizations that must exist."""

from __future__ import annotations

from service.validators.projection import first_refs
from service.validators.types import CheckContext, Finding
from service.vocabulary import Op

DELEGATE_KINDS = ("purchaser",)


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
    """Delegate items name a purchaser organization, granted once and revoked only if held."""
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] not in (Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE):
            continue
        path = f"changes/{position}/organization"
        other = ctx.organizations.get(item["organization"])
        if other is None or other.id == ctx.organization.id:
            findings.append(Finding("unknown_organization", path, "No organization has this slug."))
        elif item["op"] == Op.GRANT_DELEGATE and other.kind not in DELEGATE_KINDS:
            findings.append(
                Finding(
                    "invalid_field",
                    path,
                    "Access can be delegated to purchaser organizations only.",
                )
            )
        elif item["op"] == Op.GRANT_DELEGATE and other.id in ctx.delegate_ids:
            findings.append(
                Finding(
                    "delegation_exists", path, "This organization already has delegated access."
                )
            )
        elif item["op"] == Op.REVOKE_DELEGATE and other.id not in ctx.delegate_ids:
            findings.append(
                Finding(
                    "delegation_missing", path, "This organization has no delegated access to end."
                )
            )
    return findings
