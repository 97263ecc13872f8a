"""Emails stay unique among the organization's active contacts, and an address that mixes writing
systems in its local part is pointed out to staff.

Accounts are not looked at: an email that already has an account joins it when the batch is
applied (one login, any number of organizations), so no answer tells whether an address has an
account anywhere."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from service.validators.projection import clean, details_given, project
from service.validators.types import CheckContext, ContactKey, Finding, RosterContact
from service.vocabulary import ContactStatus, Op


def emails_brought_in(
    changes: Sequence[Mapping[str, Any]], roster: Mapping[int, RosterContact]
) -> set[str]:
    """The lower-cased emails the batch brings to an active contact: those of new contacts,
    changed emails, and the own email of each contact it reactivates. Only these can clash
    with a contact the batch does not name (`CheckContext.email_holders` looks them up)."""
    emails = set()
    for item in changes:
        if item["op"] == Op.ADD_CONTACT:
            email = item["contact"].get("email")
        elif item["op"] == Op.UPDATE_CONTACT:
            email = item["fields"].get("email")
        elif item["op"] == Op.REACTIVATE_CONTACT and item["contact_id"] in roster:
            email = roster[item["contact_id"]].fields.get("email")
        else:
            continue
        cleaned = clean(email)
        if cleaned:
            emails.add(cleaned.lower())
    return emails


def duplicate_email(ctx: CheckContext) -> list[Finding]:
    """No two active contacts of the organization share an email (case-insensitive)."""
    projection = project(ctx)
    sources = _email_sources(ctx)
    groups: dict[str, list[ContactKey]] = {}
    for key, contact in projection.contacts.items():
        email = contact.fields.get("email")
        if email and contact.status == ContactStatus.ACTIVE:
            groups.setdefault(email.lower(), []).append(key)
    # Active contacts the batch does not name keep their email; those that have one the batch
    # brings in are in `email_holders` (the others cannot clash).
    for email, holder_ids in ctx.email_holders.items():
        for contact_id in sorted(holder_ids):
            key = ContactKey.of_id(contact_id)
            if key not in projection.contacts:
                groups.setdefault(email, []).append(key)

    findings = []
    for keys in groups.values():
        ordered = sorted(keys, key=lambda k: sources[k][0] if k in sources else -1)
        for key in ordered[1:]:
            if key in sources:
                findings.append(
                    Finding("duplicate_email", sources[key][1], _clash(ordered[0], sources))
                )
    return sorted(findings, key=lambda f: f.path)


def _clash(first: ContactKey, sources: dict[ContactKey, tuple[int, str]]) -> str:
    """Why a second contact may not have the email: the roster has it, or the batch has it twice."""
    if first in sources:
        return (
            f"This email is repeated in this batch (item {sources[first][0] + 1}); each active "
            "contact needs an email of its own."
        )
    return "Another active contact of this organization has this email."


def _email_sources(ctx: CheckContext) -> dict[ContactKey, tuple[int, str]]:
    """For each contact whose active email the batch brings in: the item that does it, and where."""
    sources: dict[ContactKey, tuple[int, str]] = {}
    for position, item in enumerate(ctx.changes):
        op = item["op"]
        if op == Op.ADD_CONTACT:
            sources.setdefault(
                ContactKey.of_ref(item["ref"]), (position, f"changes/{position}/contact/email")
            )
        elif op == Op.UPDATE_CONTACT and "email" in item["fields"]:
            sources[ContactKey.of_id(item["contact_id"])] = (
                position,
                f"changes/{position}/fields/email",
            )
        elif op == Op.REACTIVATE_CONTACT:
            sources.setdefault(
                ContactKey.of_id(item["contact_id"]), (position, f"changes/{position}")
            )
    return sources


# Writing systems that are customarily written together (Unicode TS #39, "highly restrictive"):
# Japanese, Chinese and Korean mix Han with their own scripts, and any of them with Latin.
_CUSTOMARY_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def mixed_script_email(ctx: CheckContext) -> list[Finding]:
    """Warn when an email's local part mixes letters of scripts not written together: a Cyrillic
    a (U+0430) in a Latin name reads as the Latin letter. A warning only: real addresses mix."""
    findings = []
    for path, email in _emails_given(ctx):
        scripts = _scripts(email.rpartition("@")[0])
        if len(scripts) > 1 and not any(scripts <= mix for mix in _CUSTOMARY_MIXES):
            findings.append(
                Finding(
                    "mixed_script_email",
                    path,
                    "The part before the @ mixes letters of different writing systems, which "
                    "can make one address look like another. Check that it is the one intended.",
                    severity="warning",
                )
            )
    return findings


def _emails_given(ctx: CheckContext) -> Iterator[tuple[str, str]]:
    for _, details, prefix in details_given(ctx.changes):
        if details.get("email"):
            yield f"{prefix}/email", details["email"]


def _scripts(text: str) -> frozenset[str]:
    """The writing systems of the letters in the text, by the first word of each letter's Unicode
    name (`LATIN SMALL LETTER A`, `CYRILLIC SMALL LETTER A`, `CJK UNIFIED IDEOGRAPH-7530`)."""
    found = set()
    for char in text:
        if not unicodedata.category(char).startswith("L"):
            continue  # digits, punctuation and marks belong to every script
        word = unicodedata.name(char, "UNKNOWN").split()[0]
        found.add(_SCRIPT_OF_NAME.get(word, word))
    return frozenset(found)


_SCRIPT_OF_NAME = {"CJK": "HAN", "KATAKANA-HIRAGANA": "KATAKANA", "HALFWIDTH": "KATAKANA"}
