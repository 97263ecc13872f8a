"""Four-eyes approval: which batches need two approvals by two different staff members.

The one place to change the policy. A batch needs `RISKY_APPROVALS` approvals when any rule
below says it is risky; otherwise one. The rules read the same context as the validators.
"""

from __future__ import annotations

from collections.abc import Callable

from service.access import Permission
from service.validators.types import CheckContext
from service.vocabulary import Op

RISKY_APPROVALS = 2
# Deleting this many contacts or more in one batch is risky whoever they are.
MASS_DELETE = 5
# A permission that makes a contact an administrator of the organization.
ADMIN_PERMISSION = Permission.CONTACTS_MANAGE


def takes_a_required_role_away(ctx: CheckContext) -> bool:
    """Revoking a required role, or deactivating or deleting a contact who holds one."""
    required = {code for code, role in ctx.catalog.items() if role.required}
    for item in ctx.changes:
        if item["op"] == Op.REVOKE_ROLE and item["role"] in required:
            return True
        if item["op"] in (Op.DEACTIVATE_CONTACT, Op.DELETE_CONTACT):
            contact = ctx.roster.get(item["contact_id"])
            if contact is not None and contact.roles & required:
                return True
    return False


def deletes_an_administrator(ctx: CheckContext) -> bool:
    for item in ctx.changes:
        if item["op"] != Op.DELETE_CONTACT:
            continue
        contact = ctx.roster.get(item["contact_id"])
        if contact is None:
            continue
        if any(
            ADMIN_PERMISSION in ctx.catalog[c].permissions
            for c in contact.roles
            if c in ctx.catalog
        ):
            return True
    return False


def deletes_many(ctx: CheckContext) -> bool:
    return sum(1 for item in ctx.changes if item["op"] == Op.DELETE_CONTACT) >= MASS_DELETE


RISKY: tuple[Callable[[CheckContext], bool], ...] = (
    takes_a_required_role_away,
    deletes_an_administrator,
    deletes_many,
)


# Each rule in the words the submitter reads before submitting (the dry run's warning).
EXPLAINED: dict[Callable[[CheckContext], bool], str] = {
    takes_a_required_role_away: "it takes a required role away from someone",
    deletes_an_administrator: "it deletes a contact who manages the organization's contacts",
    deletes_many: f"it deletes {MASS_DELETE} or more contacts",
}


def approvals_required(ctx: CheckContext) -> int:
    """How many different staff members must approve this batch."""
    return RISKY_APPROVALS if any(rule(ctx) for rule in RISKY) else 1


def why_risky(ctx: CheckContext) -> list[str]:
    """The four-eyes rules this batch triggers, in words; empty when one approval will do."""
    return [EXPLAINED[rule] for rule in RISKY if rule(ctx)]
