"""Rules about who holds which role and who is active, before and after the batch."""

from __future__ import annotations

from collections import Counter

from service.validators.projection import (
    apply_item,
    counts_after,
    first_refs,
    project,
    start,
    target_key,
)
from service.validators.types import CheckContext, ContactKey, Finding, RosterContact
from service.vocabulary import MANAGING_PERMISSION, ROLE_OPS, ContactStatus, Op


def role_holdings(ctx: CheckContext) -> list[Finding]:
    """A role is granted only to a contact without it, and revoked only from one that has it."""
    refs = first_refs(ctx)
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] not in ROLE_OPS:
            continue
        held = _roles_before(ctx, target_key(item), refs)
        if held is None:
            continue
        if item["op"] == Op.GRANT_ROLE and item["role"] in held:
            findings.append(
                Finding(
                    "role_already_held",
                    f"changes/{position}/role",
                    "The contact already holds this role.",
                )
            )
        elif item["op"] == Op.REVOKE_ROLE and item["role"] not in held:
            findings.append(
                Finding(
                    "role_not_held",
                    f"changes/{position}/role",
                    "The contact does not hold this role.",
                )
            )
    return findings


def _roles_before(
    ctx: CheckContext, key: ContactKey | None, refs: dict[str, int]
) -> set[str] | None:
    """The roles a contact holds before the role items act on it (None when unresolvable)."""
    if key is None:
        return None
    if key.id is not None:
        contact = ctx.roster.get(key.id)
        return set(contact.roles) if contact else None
    if key.ref not in refs:
        return None
    return set(ctx.changes[refs[key.ref]].get("roles", ()))


def contact_without_role(ctx: CheckContext) -> list[Finding]:
    """A contact of the roster that the batch leaves active holds at least one role: only
    contacts who hold a role are listed, so taking the last one away is refused unless the
    batch also deactivates or deletes the contact. (A new contact without a role is a
    `missing_field`.)"""
    projection = project(ctx)
    findings = []
    for key, positions in projection.touched_by.items():
        contact = projection.contacts[key]
        if key.is_new or contact.status != ContactStatus.ACTIVE or contact.roles:
            continue
        findings.append(
            Finding(
                "contact_without_role",
                f"changes/{positions[-1]}",
                "This leaves the contact without any role; grant another role, or deactivate "
                "or delete the contact.",
            )
        )
    return findings


def last_manager(ctx: CheckContext) -> list[Finding]:
    """Deleting the last contact whose account may manage the organization is refused, so that
    no organization locks itself out of its own contacts."""
    if not ctx.manager_accounts:
        return []
    projection = project(ctx)
    managing = {
        code for code, role in ctx.catalog.items() if MANAGING_PERMISSION in role.permissions
    }
    deleted = []
    for contact_id in sorted(ctx.manager_accounts):
        key = ContactKey.of_id(contact_id)
        contact = projection.contacts.get(key)
        if key not in projection.touched_by or contact is None:
            return []
        if contact.status == ContactStatus.ACTIVE and contact.roles & managing:
            return []
        if contact.status == ContactStatus.ARCHIVED:
            deleted.append(projection.touched_by[key][-1])
    return [
        Finding(
            "last_manager",
            f"changes/{position}",
            "This deletes the last contact whose account can manage the organization's "
            "contacts; give someone else an account and a managing role first.",
        )
        for position in deleted
    ]


def status_unchanged(ctx: CheckContext) -> list[Finding]:
    """Deactivate an active contact and reactivate a deactivated one, not the other way."""
    wanted = {
        Op.DEACTIVATE_CONTACT: ContactStatus.ACTIVE,
        Op.REACTIVATE_CONTACT: ContactStatus.DEACTIVATED,
    }
    findings = []
    for position, item in enumerate(ctx.changes):
        contact = ctx.roster.get(item.get("contact_id", 0))
        if item["op"] in wanted and contact and contact.status != wanted[item["op"]]:
            findings.append(
                Finding(
                    "status_unchanged",
                    f"changes/{position}",
                    f"The contact is already {contact.status}.",
                )
            )
    return findings


def invitable(ctx: CheckContext) -> list[Finding]:
    """An invitation goes to a contact that is active after the batch and whose account is not
    active already (none yet, or one whose invitation expired or was revoked)."""
    projection = project(ctx)
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] != Op.INVITE_CONTACT or item["contact_id"] not in ctx.roster:
            continue
        after = projection.contacts.get(ContactKey.of_id(item["contact_id"]))
        if after is None or after.status != ContactStatus.ACTIVE:
            findings.append(
                Finding(
                    "not_invitable",
                    f"changes/{position}/contact_id",
                    "Only an active contact can be invited.",
                )
            )
        elif ctx.account_statuses.get(item["contact_id"]) in ("active", "deactivated"):
            findings.append(
                Finding(
                    "account_exists",
                    f"changes/{position}/contact_id",
                    "This contact already has an account that was activated.",
                )
            )
    return findings


def required_roles_held(ctx: CheckContext) -> list[Finding]:
    """After the batch, an active contact holds every required role of this organization."""
    required = [
        role
        for role in ctx.catalog.values()
        if role.required and role.audience in ("any", ctx.organization.kind)
    ]
    after = counts_after(ctx)
    missing = [role for role in required if after.holders(role.code) <= 0]
    if not missing:
        return []
    culprits = _last_removals(
        ctx, {role.code for role in missing if ctx.counts.holders(role.code) > 0}
    )
    findings = []
    for role in missing:
        position = culprits.get(role.code)
        if position is None:
            findings.append(
                Finding(
                    "required_role_missing",
                    "changes",
                    f"No active contact holds the required role {role.name}; "
                    "grant it to someone in this batch.",
                )
            )
        else:
            findings.append(
                Finding(
                    "required_role_missing",
                    f"changes/{position}",
                    f"This change leaves no active contact holding the required role "
                    f"{role.name}; grant it to someone else first.",
                )
            )
    return findings


def _held(contact: RosterContact | None, codes: set[str]) -> set[str]:
    """The roles of `codes` that a contact holds and that count (only active contacts count)."""
    if contact is None or contact.status != ContactStatus.ACTIVE:
        return set()
    return contact.roles & codes


def _last_removals(ctx: CheckContext, codes: set[str]) -> dict[str, int]:
    """For each role, the item after which its holders dropped to none for the last time.

    Counts start from the roster's maintained ones and follow the batch item by item, so this
    is linear in the batch alone.
    """
    if not codes:
        return {}
    projection = start(ctx)
    counts = Counter({code: ctx.counts.holders(code) for code in codes})
    culprits: dict[str, int] = {}
    for position, item in enumerate(ctx.changes):
        key = target_key(item) if "organization" not in item else None
        if key is None:
            continue
        before = _held(projection.contacts.get(key), codes)
        apply_item(ctx, projection, position, item)
        after = _held(projection.contacts.get(key), codes)
        for code in before - after:
            counts[code] -= 1
            if counts[code] == 0:
                culprits[code] = position
        for code in after - before:
            counts[code] += 1
    return culprits


def seat_limit(ctx: CheckContext) -> list[Finding]:
    """The batch does not take the active contacts beyond the plan's seat limit."""
    limit = ctx.organization.seat_limit
    if limit is None:
        return []
    before = ctx.counts.active
    after = counts_after(ctx).active
    if after > limit and after > before:
        return [
            Finding(
                "seat_limit_exceeded",
                "changes",
                f"The batch would leave {after} active contacts; the plan allows {limit}.",
            )
        ]
    return []


def separation_of_duties(ctx: CheckContext) -> list[Finding]:
    """Warn when a contact the batch touches would hold two roles that should stay apart."""
    projection = project(ctx)
    findings = []
    for key, positions in projection.touched_by.items():
        contact = projection.contacts[key]
        pairs = _incompatible_pairs(ctx, contact)
        if contact.status == ContactStatus.ARCHIVED or not pairs:
            continue
        names = "; ".join(f"{a} and {b}" for a, b in pairs)
        findings.append(
            Finding(
                "separation_of_duties",
                f"changes/{positions[-1]}",
                f"The contact would hold roles that should be kept apart: {names}.",
                severity="warning",
            )
        )
    return findings


def _incompatible_pairs(ctx: CheckContext, contact: RosterContact) -> list[tuple[str, str]]:
    """Pairs of held roles that the catalog keeps apart (declared on either role)."""
    pairs: set[tuple[str, str]] = set()
    for code in contact.roles & set(ctx.catalog):
        for other in ctx.catalog[code].incompatible_with & contact.roles:
            first, second = sorted((code, other))
            pairs.add((ctx.catalog[first].name, ctx.catalog[second].name))
    return sorted(pairs)
