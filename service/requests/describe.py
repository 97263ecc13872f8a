"""A batch of changes as readable lines: who, what, before → after.

The wording lives in one place, `describe_batch`, a pure function of the items and the names
they point at. It serves a stored change request (`describe`: the ticket detail, the ticket
page, the "implemented" email) and a batch that is only checked (`describe_checked`: the dry
run, whose lines the contacts manager's review dialog shows before anything is stored).
Existing contacts are named as the roster has them now, new ones as the batch names them; a
purged contact reads as "former contact".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.contacts.models import Contact, ContactStatus, Role
from service.organizations.models import Organization
from service.requests.models import ChangeRequestItem
from service.sql import column_in
from service.validators.types import CheckContext
from service.vocabulary import CONTACT_FIELDS, DELEGATE_OPS, Op

FORMER_CONTACT = "former contact"


@dataclass(frozen=True)
class ChangeLine:
    """One item of a batch as a person reads it: `summary` says it, `before`/`after` show it."""

    position: int
    op: str
    contact_id: int | None
    ref: str | None
    contact: str
    summary: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Names:
    """What the lines call the things items point at."""

    contacts: Mapping[int, str]  # existing contacts by id; FORMER_CONTACT once purged
    roles: Mapping[str, str]  # role code -> name
    organizations: Mapping[str, str]  # slug -> name


def describe_batch(
    *,
    changes: Sequence[Mapping[str, Any]],
    names: Names,
    before: Mapping[int, Mapping[str, Any]],
) -> list[ChangeLine]:
    """A line per item, in batch order; `before` holds what each update replaces, by position."""
    new_names = {
        change["ref"]: _full_name(change.get("contact") or {})
        for change in changes
        if change["op"] == Op.ADD_CONTACT and change.get("ref")
    }
    return [
        _line(position, change, names, new_names, before.get(position))
        for position, change in enumerate(changes)
    ]


def describe(*, session: Session, change_request_id: int) -> list[ChangeLine]:
    """The stored request's lines, in at most four statements whatever the batch size.

    Items keep their operation, contact, ref and role in columns of their own, which the purge
    leaves; their `payload` (the details as submitted) may have been erased.
    """
    rows = session.execute(
        select(
            ChangeRequestItem.op,
            ChangeRequestItem.contact_id,
            ChangeRequestItem.ref,
            ChangeRequestItem.role_code,
            ChangeRequestItem.target_organization_id,
            ChangeRequestItem.payload,
            ChangeRequestItem.before,
        )
        .where(ChangeRequestItem.change_request_id == change_request_id)
        .order_by(ChangeRequestItem.position)
    ).all()
    changes = [
        {
            **row.payload,
            "op": row.op,
            "contact_id": row.contact_id,
            "ref": row.ref,
            "role": row.role_code,
        }
        for row in rows
    ]
    names = Names(
        contacts=_stored_contact_names(session, {r.contact_id for r in rows if r.contact_id}),
        roles=dict(session.execute(select(Role.code, Role.name)).tuples().all()),
        organizations=_organization_names(
            session, {r.target_organization_id for r in rows if r.target_organization_id}
        ),
    )
    before = {position: row.before for position, row in enumerate(rows) if row.before}
    return describe_batch(changes=changes, names=names, before=before)


def describe_checked(ctx: CheckContext) -> list[ChangeLine]:
    """The lines of a batch that is only checked, named from what the check read: no statement."""
    contact_ids = {c["contact_id"] for c in ctx.changes if c.get("contact_id") is not None}
    names = Names(
        contacts={
            cid: _contact_name(ctx.roster[cid].fields) for cid in contact_ids if cid in ctx.roster
        },
        roles={code: role.name for code, role in ctx.catalog.items()},
        organizations={slug: org.name for slug, org in ctx.organizations.items() if org.name},
    )
    before = {
        position: replaced
        for position, change in enumerate(ctx.changes)
        if (replaced := replaced_values(ctx, change)) is not None
    }
    return describe_batch(changes=ctx.changes, names=names, before=before)


def replaced_values(ctx: CheckContext, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an update replaces, as the roster holds it now (None for other operations)."""
    if change["op"] != Op.UPDATE_CONTACT:
        return None
    contact = ctx.roster.get(change["contact_id"])
    return {name: contact.fields.get(name) for name in change["fields"]} if contact else None


# How the other operations read, by who, which role and which organization they name.
SUMMARIES = {
    Op.GRANT_ROLE: "Grant {role} to {who}",
    Op.REVOKE_ROLE: "Revoke {role} from {who}",
    Op.DEACTIVATE_CONTACT: "Deactivate {who}",
    Op.REACTIVATE_CONTACT: "Reactivate {who}",
    Op.DELETE_CONTACT: "Delete {who} and erase their personal data",
    Op.GRANT_DELEGATE: "Let {organization} manage this organization's contacts",
    Op.REVOKE_DELEGATE: "End {organization}'s access to this organization's contacts",
    Op.INVITE_CONTACT: "Invite {who} to set up an account",
}


def _line(
    position: int,
    change: Mapping[str, Any],
    names: Names,
    new_names: Mapping[str, str],
    before: Mapping[str, Any] | None,
) -> ChangeLine:
    op = change["op"]
    contact_id, ref = change.get("contact_id"), change.get("ref")
    if contact_id is not None and contact_id in names.contacts:
        who = names.contacts[contact_id]
    elif ref:
        who = new_names.get(ref) or f"new contact {ref}"
    else:
        who = FORMER_CONTACT
    role = names.roles.get(change.get("role") or "", change.get("role") or "")
    slug = change.get("organization") or ""
    organization = names.organizations.get(slug) or slug
    if op in DELEGATE_OPS:
        # About an organization, not a person: no one reads as a former contact here.
        who = organization
    after: Mapping[str, Any] | None = None
    if op == Op.ADD_CONTACT:
        held = ", ".join(names.roles.get(code, code) for code in change.get("roles", []))
        summary = f"Add {who} as {held}" if held else f"Add {who}"
        if change.get("invite") is False:
            summary += ", without an invitation"
        details = change.get("contact")
        after = {k: details.get(k) for k in CONTACT_FIELDS} if details else None
    elif op == Op.UPDATE_CONTACT:
        fields = change.get("fields") or {}
        # A purge erases what the item changed; the line still says that details changed.
        changed = ", ".join(_label(k) for k in fields) or "details"
        summary = f"Change {changed} of {who}"
        after = dict(fields)
    else:
        template = SUMMARIES.get(op)
        summary = template.format(who=who, role=role, organization=organization) if template else op
    return ChangeLine(
        position=position,
        op=op,
        contact_id=contact_id,
        ref=ref,
        contact=who,
        summary=summary,
        before=before if op == Op.UPDATE_CONTACT else None,
        after=after,
    )


def _stored_contact_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Contact.id, Contact.status, Contact.first_name, Contact.last_name).where(
            column_in(session, Contact.id, ids)
        )
    )
    return {
        contact_id: FORMER_CONTACT
        if status == ContactStatus.ARCHIVED
        else _contact_name({"first_name": first, "last_name": last})
        for contact_id, status, first, last in rows
    }


def _organization_names(session: Session, ids: Iterable[int]) -> dict[str, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Organization.slug, Organization.name).where(column_in(session, Organization.id, ids))
    )
    return dict(rows.tuples().all())


def _contact_name(details: Mapping[str, Any]) -> str:
    """A purge blanks the last name: such a contact is a former one, whatever its status."""
    if not details.get("last_name"):
        return FORMER_CONTACT
    return _full_name(details)


def _full_name(details: Mapping[str, Any]) -> str:
    return " ".join(str(details[k]).strip() for k in ("first_name", "last_name") if details.get(k))


def _label(name: str) -> str:
    return name.replace("_", " ")
