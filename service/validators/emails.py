"""Emails stay unique: among the organization's active contacts, and among user accounts."""

from __future__ import annotations

from service.validators.projection import Key, Projection, project
from service.validators.types import CheckContext, Finding


def duplicate_email(ctx: CheckContext) -> list[Finding]:
    """No two active contacts share an email (case-insensitive), nor an account of someone else."""
    projection = project(ctx)
    sources = _email_sources(ctx)
    groups: dict[str, list[Key]] = {}
    for key, contact in projection.active():
        email = contact.fields.get("email")
        if email:
            groups.setdefault(email.lower(), []).append(key)

    findings = []
    for email, keys in groups.items():
        ordered = sorted(keys, key=lambda k: sources[k][0] if k in sources else -1)
        for key in ordered[1:]:
            if key in sources:
                findings.append(
                    Finding(
                        "duplicate_email",
                        sources[key][1],
                        "Another active contact of this organization has this email.",
                    )
                )
        first = ordered[0]
        # A reactivated contact brings back its own account, so only new emails are checked.
        if (
            first in sources
            and sources[first][1].endswith("/email")
            and _taken_by_another_account(ctx, projection, first, email)
        ):
            findings.append(
                Finding(
                    "duplicate_email",
                    sources[first][1],
                    "A user account of someone else already has this email.",
                )
            )
    return sorted(findings, key=lambda f: f.path)


def _email_sources(ctx: CheckContext) -> dict[Key, tuple[int, str]]:
    """For each contact whose active email the batch brings in: the item that does it, and where."""
    sources: dict[Key, tuple[int, str]] = {}
    for position, item in enumerate(ctx.changes):
        op = item["op"]
        if op == "add_contact":
            sources.setdefault(
                ("ref", item["ref"]), (position, f"changes/{position}/contact/email")
            )
        elif op == "update_contact" and "email" in item["fields"]:
            sources[("id", item["contact_id"])] = (position, f"changes/{position}/fields/email")
        elif op == "reactivate_contact":
            sources.setdefault(("id", item["contact_id"]), (position, f"changes/{position}"))
    return sources


def _taken_by_another_account(
    ctx: CheckContext, projection: Projection, key: Key, email: str
) -> bool:
    if email not in ctx.emails_in_use:
        return False
    owner = ctx.emails_in_use[email]
    if owner is None:
        return True
    if key == ("id", owner):
        return False
    # The account follows its contact: free once that contact is deleted or changes its email.
    holder = projection.contacts.get(("id", owner))
    if holder is None:
        return True
    holder_email = (holder.fields.get("email") or "").lower()
    return holder.status == "active" and holder_email == email
