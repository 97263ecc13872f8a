"""Rules about contact details: what a new contact must carry, and the format of each field.

Messages name the field and the rule, never the value: values are personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.validators.projection import clean, details_given
from service.validators.types import CheckContext, Finding
from service.vocabulary import ASSISTANT, SALUTATIONS, Op

# Deliberately permissive: one @, no blanks, a dot in the domain. Delivery proves the rest.
# Used with fullmatch: `match` and `$` would accept a trailing newline.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
PHONE = re.compile(r"\+?[0-9 ()./-]+")
PHONE_DIGITS = (6, 20)


def missing_field(ctx: CheckContext) -> list[Finding]:
    """New contacts carry every field the organization requires and a role; updates change
    something and blank no required field."""
    required = ctx.organization.required_fields
    findings = []
    for position, item in enumerate(ctx.changes):
        if item["op"] == Op.ADD_CONTACT:
            details = item["contact"]
            for name in required:
                if clean(details.get(name)) is None:
                    findings.append(
                        Finding(
                            "missing_field",
                            f"changes/{position}/contact/{name}",
                            f"A new contact needs {_a(_label(name))}.",
                        )
                    )
            if not item.get("roles"):
                findings.append(
                    Finding(
                        "missing_field",
                        f"changes/{position}/roles",
                        "A new contact needs at least one role.",
                    )
                )
        elif item["op"] == Op.UPDATE_CONTACT:
            details = item["fields"]
            if not details:
                findings.append(
                    Finding(
                        "missing_field",
                        f"changes/{position}/fields",
                        "Name at least one field to change.",
                    )
                )
            for name in required:
                if name in details and clean(details[name]) is None:
                    findings.append(
                        Finding(
                            "missing_field",
                            f"changes/{position}/fields/{name}",
                            f"The {_label(name)} cannot be removed, only changed.",
                        )
                    )
    return findings


def invalid_field(ctx: CheckContext) -> list[Finding]:
    """Every detail given has a valid format."""
    return [
        Finding("invalid_field", f"{prefix}/{name}", problem)
        for _, details, prefix in details_given(ctx.changes)
        for name, problem in _format_problems(details)
    ]


def _format_problems(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for name, raw in details.items():
        if name == ASSISTANT:
            continue  # an id: `references.assistant` checks it
        value = clean(raw)
        if value is None:
            continue
        if name in ("email", "alternate_email") and not EMAIL.fullmatch(value):
            problems.append((name, "This is not a valid email address."))
        elif name in ("phone", "mobile") and not _valid_phone(value):
            problems.append(
                (
                    name,
                    f"A {_label(name)} number has {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} "
                    "digits, with an optional leading + and spaces, dots, dashes or brackets.",
                )
            )
        elif name == "salutation" and value not in SALUTATIONS:
            problems.append((name, "Use one of: " + ", ".join(SALUTATIONS) + "."))
        elif name in ("first_name", "last_name") and not any(c.isalpha() for c in value):
            problems.append((name, f"A {_label(name)} needs at least one letter."))
    return problems


def _valid_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return bool(PHONE.fullmatch(value)) and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]


def _label(name: str) -> str:
    return name.replace("_", " ")


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an email", "a mobile"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
