"""Change requests: submit a batch, dry-run it, and project the roster a pending one asks for."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, with_expression
from sqlalchemy.orm.interfaces import ORMOption

from service import access
from service import access as permissions
from service.access import OrgScope, TicketAccess
from service.accounts.service import Actor
from service.contacts.service import roster_snapshot
from service.errors import Conflict, ErrorDetail, Unprocessable
from service.organizations.models import CLOSED_MESSAGE, ORGANIZATION_CLOSED, Organization
from service.requests.context import build_context
from service.requests.describe import ChangeLine, describe_checked, replaced_values
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.requests.policy import approvals_required, why_risky
from service.tickets import service as tickets_service
from service.tickets.links import ticket_path, ticket_url
from service.tickets.models import Ticket, TicketStatus
from service.tickets.workflow import InvalidTransition, allowed
from service.validators import check, project, projected_contacts
from service.validators.projection import counts_after
from service.validators.references import may_be_delegate
from service.validators.types import CheckContext, ContactKey, Finding
from service.vocabulary import DELEGATE_OPS, MANAGING_PERMISSION, ContactStatus, Op


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket
    warnings: list[Finding]


@dataclass(frozen=True)
class TicketLink:
    reference: str
    status: TicketStatus
    url: str


@dataclass(frozen=True)
class SubmittedAnswer:
    """The 201 of a submission (`SubmittedOut`), on the API and the pages' JSON call alike."""

    ticket: TicketLink
    warnings: list[Finding]


def submitted_answer(submitted: Submitted, *, same_site: bool = False) -> SubmittedAnswer:
    """What a submission answers: the ticket with its link, and the batch's warnings.

    The API links to `BASE_URL`; the pages' script (`same_site`) gets the page's path, on the
    site the browser is on.
    """
    reference = submitted.ticket.reference
    url = ticket_path(reference) if same_site else ticket_url(reference)
    return SubmittedAnswer(
        ticket=TicketLink(reference=reference, status=submitted.ticket.status, url=url),
        warnings=submitted.warnings,
    )


@dataclass(frozen=True)
class Projected:
    """The whole roster after the batch (the dry run's `projected`, as in v1)."""

    contacts: list[dict[str, Any]]


@dataclass(frozen=True)
class ProjectedChanges:
    """`?projected=changed`: only the contacts the batch touches (and adds), and the roster's
    counts after it: active holders of each role open to the organization, active contacts."""

    contacts: list[dict[str, Any]]
    holders: dict[str, int]
    active_contacts: int


@dataclass(frozen=True)
class DryRun:
    """What `submit` would say of a batch, the roster it would produce, and its lines."""

    errors: list[Finding]
    warnings: list[Finding]
    projected: Projected | ProjectedChanges
    changes: list[ChangeLine]

    @property
    def valid(self) -> bool:
        return not self.errors


class ValidationFailed(Unprocessable):
    """422 with every finding of the rules at once, and the warnings beside them."""

    code = "validation_failed"
    message = "The batch has problems; nothing was stored."

    def __init__(self, errors: Sequence[Finding], warnings: Sequence[Finding]) -> None:
        super().__init__(
            errors=[ErrorDetail(f.path, f.code, f.message) for f in errors],
            extra={"warnings": [f.as_dict() for f in warnings]},
        )


def submit(*, session: Session, org_slug: str, actor: Actor, data: Mapping[str, Any]) -> Submitted:
    """Validate the batch in full and store it as a change request with an open ticket."""
    scope = access.managed_org(session=session, actor=actor, slug=org_slug)
    access.require_batch_rights(scope, data["changes"])
    org = scope.org
    _refuse_when_closed(org=org)
    _refuse_when_pending(session=session, org=org)
    request, ctx, warnings = _store_batch(session=session, scope=scope, data=data)
    ticket = tickets_service.open_ticket(
        session=session,
        request=request,
        actor=actor,
        approvals_required=approvals_required(ctx),
    )
    return Submitted(ticket=ticket, warnings=warnings)


def amend(*, session: Session, access: TicketAccess, data: Mapping[str, Any]) -> Ticket:
    """Replace an open or awaiting ticket's batch with `data` (a submission's body), validated
    again in full, as the ticket's next revision; the approvals already given are reset."""
    permissions.require_amend(access)
    ticket = access.ticket
    if not allowed("amend", ticket.status):
        raise InvalidTransition(f"The ticket is {ticket.status.value}; it cannot be amended now.")
    permissions.require_batch_rights(access.scope, data["changes"])
    request, ctx, _ = _store_batch(
        session=session,
        scope=access.scope,
        data=data,
        revision=ticket.revision + 1,
        replaces_id=ticket.change_request_id,
    )
    return tickets_service.amend(
        session=session,
        access=access,
        request=request,
        approvals_required=approvals_required(ctx),
    )


def _store_batch(
    *, session: Session, scope: OrgScope, data: Mapping[str, Any], **revision: int
) -> tuple[ChangeRequest, CheckContext, list[Finding]]:
    """Check the batch in full against the roster it was written for (409 `stale_roster`, 422
    with every finding at once) and store it, with its items, as a change request of the
    actor's; `revision` and the request it replaces, when it amends a ticket."""
    org = scope.org
    _refuse_when_stale(org=org, base_version=data["base_version"])
    ctx = build_context(session=session, org=org, changes=data["changes"])
    errors, warnings = check(ctx)
    if errors:
        raise ValidationFailed(errors, warnings)
    request = ChangeRequest(
        organization_id=org.id,
        acting_organization_id=scope.acting_organization_id,
        requester_id=scope.actor.user.id,
        base_version=data["base_version"],
        comment=data.get("comment"),
        warnings=[{**w.as_dict(), "severity": "warning"} for w in warnings],
        **revision,
        **batch_summary(ctx),
    )
    session.add(request)
    session.flush()
    _store_items(session=session, request=request, ctx=ctx)
    return request, ctx, list(warnings)


def dry_run(
    *,
    session: Session,
    org_slug: str,
    actor: Actor,
    data: Mapping[str, Any],
    changed_only: bool = False,
    amending: str | None = None,
) -> DryRun:
    """Everything `submit` would say, and the roster it would produce (`changed_only`: the
    contacts it touches, without reading the rest of the roster); stores nothing. `amending`
    names the pending ticket the batch would amend, which then does not block it."""
    scope = access.managed_org(session=session, actor=actor, slug=org_slug)
    access.require_batch_rights(scope, data["changes"])
    org = scope.org
    blocking: list[Finding] = []
    if org.closed:
        blocking.append(Finding(ORGANIZATION_CLOSED, "", CLOSED_MESSAGE))
    pending = pending_ticket(session=session, org_id=org.id)
    if pending is not None and pending.reference != amending:
        blocking.append(Finding("request_pending", "", _pending_message(pending)))
    if data["base_version"] != org.roster_version:
        blocking.append(Finding("stale_roster", "base_version", _stale_message(org)))
    ctx = build_context(session=session, org=org, changes=data["changes"])
    errors, warnings = check(ctx)
    return DryRun(
        errors=blocking + errors,
        warnings=warnings + _before_submitting(ctx, scope=scope),
        projected=_projected(ctx, session=session, org=org, changed_only=changed_only),
        changes=describe_checked(ctx),
    )


def _before_submitting(ctx: CheckContext, *, scope: access.OrgScope) -> list[Finding]:
    """What the submitter should know before submitting: that the batch takes their own right
    to manage the organization away, whom it gives the right to manage its contacts, and that it
    needs two approvals, and why."""
    found = []
    if _loses_management(ctx, scope=scope):
        found.append(
            Finding(
                "manage_right_lost",
                "changes",
                "After this batch you will lose the right to manage this organization's contacts.",
                severity="warning",
            )
        )
    for position, item in enumerate(ctx.changes):
        other = ctx.organizations.get(item["organization"]) if "organization" in item else None
        if item["op"] == Op.GRANT_DELEGATE and other is not None and may_be_delegate(ctx, other):
            found.append(
                Finding(
                    "delegation_granted",
                    f"changes/{position}/organization",
                    f"You are giving {other.name or other.slug} ({other.kind}) the right to "
                    f"manage {ctx.organization.name or ctx.organization.slug}'s contacts.",
                    severity="warning",
                )
            )
    reasons = why_risky(ctx)
    if reasons:
        found.append(
            Finding(
                "two_approvals_needed",
                "changes",
                f"This needs two approvals by different staff members (four eyes): "
                f"{'; '.join(reasons)}.",
                severity="warning",
            )
        )
    return found


def _loses_management(ctx: CheckContext, *, scope: access.OrgScope) -> bool:
    """Whether the batch ends the caller's own right to manage this organization's contacts:
    their contact deactivated, deleted or left without a role that manages; for a delegate, the
    delegation of their organization revoked."""
    if scope.delegated:
        own = scope.via_id
        return any(
            item["op"] == Op.REVOKE_DELEGATE
            and (other := ctx.organizations.get(item["organization"])) is not None
            and other.id == own
            for item in ctx.changes
        )
    membership = scope.actor.membership(scope.org.id)
    if membership is None:
        return False
    after = project(ctx).contacts.get(ContactKey.of_id(membership.contact_id))
    if after is None:
        return False
    managing = any(
        MANAGING_PERMISSION in ctx.catalog[code].permissions
        for code in after.roles
        if code in ctx.catalog
    )
    return after.status != ContactStatus.ACTIVE or not managing


def _projected(
    ctx: CheckContext, *, session: Session, org: Organization, changed_only: bool
) -> Projected | ProjectedChanges:
    """What the dry run shows of the roster after the batch: the contacts it touches and the
    counts, read without the rest of the roster; or the whole roster, read whole."""
    if not changed_only:
        roster = roster_snapshot(session=session, org_id=org.id)
        return Projected(contacts=projected_contacts(project(ctx), roster=roster))
    after = counts_after(ctx)
    return ProjectedChanges(
        contacts=projected_contacts(project(ctx)),
        holders={
            code: after.holders(code)
            for code, role in ctx.catalog.items()
            if role.audience in ("any", org.kind.value)
        },
        active_contacts=after.active,
    )


def batch_summary(ctx: CheckContext) -> dict[str, int]:
    """The kinds of change a batch holds, as the change request's counting columns."""
    required = {code for code, role in ctx.catalog.items() if role.required}
    ops = [item["op"] for item in ctx.changes]
    return {
        "item_count": len(ops),
        "adds": ops.count(Op.ADD_CONTACT),
        "deletions": ops.count(Op.DELETE_CONTACT),
        "required_role_removals": sum(
            1
            for item in ctx.changes
            if item["op"] == Op.REVOKE_ROLE and item.get("role") in required
        ),
        "delegations": sum(1 for op in ops if op in DELEGATE_OPS),
    }


@functools.cache
def with_pending_ticket() -> ORMOption:
    """Read the organization's `pending_ticket_id` with it (an option of its query)."""
    return with_expression(
        Organization.pending_ticket_id,
        tickets_service.unfinished_query(org_id=Organization.id, kind="change_request")
        .with_only_columns(Ticket.id)
        .limit(1)
        .scalar_subquery(),
    )


def pending_ticket(*, session: Session, org_id: int) -> Ticket | None:
    """The organization's unfinished change-request ticket, if any."""
    return session.scalar(tickets_service.unfinished_query(org_id=org_id, kind="change_request"))


def pending_items(*, session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """The items of the pending request, in order."""
    return [
        dict(payload)
        for payload in session.scalars(
            select(ChangeRequestItem.payload)
            .where(ChangeRequestItem.change_request_id == ticket.change_request_id)
            .order_by(ChangeRequestItem.position)
        )
    ]


def pending_projection(
    *, session: Session, org: Organization, items: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """What the pending request's `items` ask for: the contacts they touch (deleted ones
    included) and the contacts they add, as projected contacts."""
    ctx = build_context(session=session, org=org, changes=items)
    return projected_contacts(project(ctx), include_archived=True)


def delegation_changes(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What the items ask of delegated access: organization slug -> grant/revoke."""
    return {
        str(item["organization"]): "grant" if item["op"] == Op.GRANT_DELEGATE else "revoke"
        for item in items
        if item["op"] in (Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE)
    }


def _refuse_when_closed(*, org: Organization) -> None:
    if org.closed:
        raise Conflict(CLOSED_MESSAGE, code=ORGANIZATION_CLOSED)


def _refuse_when_pending(*, session: Session, org: Organization) -> None:
    pending = pending_ticket(session=session, org_id=org.id)
    if pending is not None:
        raise Conflict(_pending_message(pending), code="request_pending")


def _refuse_when_stale(*, org: Organization, base_version: int) -> None:
    if base_version != org.roster_version:
        raise Conflict(_stale_message(org), code="stale_roster")


def _pending_message(ticket: Ticket) -> str:
    return (
        f"This organization already has an unfinished change request ({ticket.reference}); "
        "wait for it to finish or cancel it first."
    )


def _stale_message(org: Organization) -> str:
    return (
        f"The roster changed since you loaded it: it is now at version {org.roster_version}. "
        "Reload it and prepare the batch again."
    )


def _store_items(*, session: Session, request: ChangeRequest, ctx: CheckContext) -> None:
    """All items in one executemany: the statement count does not grow with the batch."""
    rows = []
    for position, item in enumerate(ctx.changes):
        target = ctx.organizations.get(item.get("organization", ""))
        rows.append(
            {
                "change_request_id": request.id,
                "position": position,
                "op": item["op"],
                "contact_id": item.get("contact_id"),
                "ref": item.get("ref"),
                "role_code": item.get("role"),
                "target_organization_id": target.id if target else None,
                "payload": dict(item),
                "before": replaced_values(ctx, item),
            }
        )
    session.execute(insert(ChangeRequestItem.__table__), rows)
