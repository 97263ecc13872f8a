"""Pure rules over (roster before, batch, role catalog) that return every problem at once.

Each rule is `rule(ctx) -> list[Finding]`: no database, no Flask, no side effects. The request
service gathers a `CheckContext` and calls `check`; a dry run also shows `project(ctx)`.
"""

from __future__ import annotations

from collections.abc import Callable

from service.validators.batch import batch_size, conflicting_changes, duplicate_ref
from service.validators.details import invalid_field, missing_field
from service.validators.emails import duplicate_email, mixed_script_email
from service.validators.holdings import (
    contact_without_role,
    invitable,
    last_manager,
    required_roles_held,
    role_holdings,
    seat_limit,
    separation_of_duties,
    status_unchanged,
)
from service.validators.projection import Projection, project, projected_contacts
from service.validators.references import (
    assistant,
    delegations,
    unknown_contact,
    unknown_role,
)
from service.validators.types import CheckContext, Finding

Rule = Callable[[CheckContext], list[Finding]]

# Order matters only for how findings read: shape and references first, then consequences.
RULES: tuple[Rule, ...] = (
    batch_size,
    duplicate_ref,
    unknown_contact,
    unknown_role,
    delegations,
    assistant,
    missing_field,
    invalid_field,
    conflicting_changes,
    status_unchanged,
    invitable,
    role_holdings,
    duplicate_email,
    required_roles_held,
    contact_without_role,
    last_manager,
    seat_limit,
    separation_of_duties,
    mixed_script_email,
)


def check(ctx: CheckContext) -> tuple[list[Finding], list[Finding]]:
    """Run every rule; return (errors, warnings), each ordered by the item they concern."""
    findings = [finding for rule in RULES for finding in rule(ctx)]
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    return sorted(errors, key=_position), sorted(warnings, key=_position)


def _position(finding: Finding) -> tuple[int, str]:
    parts = finding.path.split("/")
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
    return (index, finding.path)


__all__ = [
    "RULES",
    "CheckContext",
    "Finding",
    "Projection",
    "check",
    "project",
    "projected_contacts",
]
