"""Rules about the batch as a whole: its size, its refs, and items that contradict each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.validators.projection import target_key
from service.validators.types import CheckContext, ContactKey, Finding
from service.vocabulary import DELEGATE_OPS, ROLE_OPS, STATUS_BY_OP, Op


def batch_size(ctx: CheckContext) -> list[Finding]:
    """The batch is neither empty nor larger than the configured maximum."""
    count = len(ctx.changes)
    if count == 0:
        return [Finding("empty_batch", "changes", "The batch has no changes.")]
    if count > ctx.max_batch_size:
        return [
            Finding(
                "batch_too_large",
                "changes",
                f"The batch has {count} changes; the most allowed is {ctx.max_batch_size}.",
            )
        ]
    return []


def duplicate_ref(ctx: CheckContext) -> list[Finding]:
    """Each new contact of the batch has its own ref."""
    seen: dict[str, int] = {}
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] != Op.ADD_CONTACT:
            continue
        ref = item["ref"]
        if ref in seen:
            findings.append(
                Finding(
                    "duplicate_ref",
                    f"changes/{position}/ref",
                    f"This ref is already used by changes/{seen[ref]}; give each new contact "
                    "its own ref.",
                )
            )
        else:
            seen[ref] = position
    return findings


def conflicting_changes(ctx: CheckContext) -> list[Finding]:
    """No two items act on the same thing in ways that repeat or undo each other."""
    earlier: dict[ContactKey | str, list[int]] = {}
    findings = []
    for position, item in enumerate(ctx.changes):
        subject = _subject(item)
        clash = next(
            (other for other in earlier.get(subject, ()) if _contradict(ctx.changes[other], item)),
            None,
        )
        if clash is not None:
            findings.append(
                Finding(
                    "conflicting_changes",
                    f"changes/{position}",
                    f"This change conflicts with changes/{clash}; keep one of them.",
                )
            )
        earlier.setdefault(subject, []).append(position)
    return findings


def _subject(item: Mapping[str, Any]) -> ContactKey | str:
    """What an item acts on: a contact, or the organization a delegation item names."""
    if item["op"] in DELEGATE_OPS:
        return str(item["organization"])
    key = target_key(item)
    assert key is not None
    return key


def _contradict(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two items on the same subject cannot both stand (`first` comes first)."""
    ops = {first["op"], second["op"]}
    if Op.DELETE_CONTACT in ops or ops <= DELEGATE_OPS:
        return True
    if ops <= set(STATUS_BY_OP) or ops == {Op.INVITE_CONTACT}:
        return True
    if ops == {Op.UPDATE_CONTACT}:
        return bool(set(first["fields"]) & set(second["fields"]))
    if ops <= ROLE_OPS:
        return bool(first["role"] == second["role"])
    if first["op"] == Op.ADD_CONTACT and second["op"] == Op.REVOKE_ROLE:
        return second["role"] in first.get("roles", ())
    return False
