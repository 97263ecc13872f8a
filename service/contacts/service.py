"""The role catalog and the roster: reading them, and snapshots for the validators."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.contacts import catalog as role_catalog
from service.contacts import counts, paging
from service.contacts.models import Contact, ContactRole, ContactStatus, Role
from service.errors import Conflict, ErrorDetail, NotFound, Unprocessable
from service.models_base import utcnow
from service.organizations.models import Organization
from service.sql import column_in, insert_rows
from service.validators.types import RoleInfo, RosterContact, RosterCounts
from service.vocabulary import CONTACT_FIELDS

ROLES_FILE = Path(__file__).with_name("roles.json")


def list_roles(*, session: Session) -> list[Role]:
    """The whole catalog, in its display order."""
    return list(session.scalars(select(Role).order_by(Role.position, Role.code)))


def catalog(*, session: Session) -> dict[str, RoleInfo]:
    """The catalog as the validators read it (service/contacts/catalog.py keeps it)."""
    return role_catalog.as_dict(role_catalog.current(session=session))


def required_role_codes(*, roles: Iterable[Role | RoleInfo], org: Organization) -> list[str]:
    """The codes of the catalog's `roles` that `org` must always have a holder of."""
    return [
        role.code for role in roles if role.required and role.audience in ("any", org.kind.value)
    ]


def load_catalog_file(*, session: Session, path: Path = ROLES_FILE, replace: bool = False) -> int:
    """Add the roles of the data file that are missing (or overwrite all with `replace`)."""
    data: dict[str, Any] = json.loads(path.read_text())
    existing = {role.code: role for role in session.scalars(select(Role))}
    written = 0
    for position, entry in enumerate(data["roles"]):
        role = existing.get(entry["code"])
        if role is not None and not replace:
            continue
        if role is None:
            role = Role(code=entry["code"])
            session.add(role)
        role.name = entry["name"]
        role.description = entry.get("description", "")
        role.audience = entry.get("audience", "customer")
        role.permissions = list(entry.get("permissions", []))
        role.grants_all = bool(entry.get("grants_all", False))
        role.exceptions = list(entry.get("exceptions", []))
        role.emails = list(entry.get("emails", []))
        role.required = bool(entry.get("required", False))
        role.incompatible_with = list(entry.get("incompatible_with", []))
        role.position = position
        written += 1
    session.flush()
    return written


def roster_snapshot(
    *, session: Session, org_id: int, ids: Collection[int] | None = None
) -> dict[int, RosterContact]:
    """Every non-archived contact with its roles (or, with `ids`, those of them), in two
    statements whatever the roster size.

    Read through the session's connection as plain rows: a roster can hold thousands of
    contacts, and ORM entities would cost more than the rules that read them.
    """
    connection = session.connection()
    columns = [getattr(Contact, name) for name in CONTACT_FIELDS]
    listed = [Contact.organization_id == org_id, Contact.status != ContactStatus.ARCHIVED]
    if ids is not None:
        if not ids:
            return {}
        listed.append(column_in(session, Contact.id, ids))
    # `.all()` fetches in one go (iterating the result would fetch row by row), and the status
    # comes as its text: the rules compare text, an enum member per row would only cost.
    status_text = type_coerce(Contact.status, String)
    rows = connection.execute(
        select(Contact.id, status_text, Contact.assistant_id, *columns).where(*listed)
    ).all()
    roster = {
        contact_id: RosterContact(
            id=contact_id,
            status=status,
            fields=dict(zip(CONTACT_FIELDS, values, strict=True)),
            roles=set(),
            assistant_id=assistant_id,
        )
        for contact_id, status, assistant_id, *values in rows
    }
    role_rows = connection.execute(
        select(ContactRole.contact_id, ContactRole.role_code)
        .join(Contact, Contact.id == ContactRole.contact_id)
        .where(*listed)
    ).all()
    for contact_id, role_code in role_rows:
        roster[contact_id].roles.add(role_code)
    return roster


def insert_contacts(
    *, session: Session, org_id: int, contacts: Sequence[RosterContact]
) -> list[int]:
    """Insert new contacts (their fields, status and roles) and count them: three statements
    however many. The ids of the new contacts, in the order of `contacts`."""
    if not contacts:
        return []
    now = utcnow()
    ids = insert_rows(
        session,
        Contact.__table__,
        [
            {
                "organization_id": org_id,
                **{name: contact.fields.get(name) for name in CONTACT_FIELDS},
                "assistant_id": contact.assistant_id,
                "status": ContactStatus(contact.status),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for contact in contacts
        ],
        returning_ids=True,
    )
    insert_rows(
        session,
        ContactRole.__table__,
        [
            {"contact_id": contact_id, "role_code": code}
            for contact_id, contact in zip(ids, contacts, strict=True)
            for code in sorted(contact.roles)
        ],
    )
    counts.add_contacts(session=session, org_id=org_id, contacts=contacts)
    return ids


def roster_rows(
    *, session: Session, org_id: int, ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """The roster as the API lists it (or, with `ids`, those of its contacts), with each
    contact's account status; three statements."""
    snapshot = roster_snapshot(session=session, org_id=org_id, ids=ids)
    ordered = sorted(
        snapshot.values(),
        key=lambda c: (
            (c.fields["last_name"] or "").casefold(),
            (c.fields["first_name"] or "").casefold(),
            c.id or 0,
        ),
    )
    if ids is not None and not snapshot:
        return []
    listed = [Contact.organization_id == org_id]
    if ids is not None:
        listed.append(column_in(session, Contact.id, list(snapshot)))
    accounts: dict[int | None, UserStatus] = dict(
        session.execute(
            select(Contact.id, User.status).join(User, User.id == Contact.user_id).where(*listed)
        )
        .tuples()
        .all()
    )
    return [
        {
            "id": contact.id,
            **contact.fields,
            "assistant_id": contact.assistant_id,
            "status": contact.status,
            "roles": sorted(contact.roles),
            "account_status": paging.account_status(accounts.get(contact.id)),
        }
        for contact in ordered
    ]


def active_count(*, session: Session, org_id: int) -> int:
    """Active contacts of the organization, from the maintained counts: what the seats count."""
    return counts.read(session=session, org_id=org_id).active


def roster_page(
    *,
    session: Session,
    org: Organization,
    roles: Sequence[Role | RoleInfo],
    filters: paging.RosterFilters,
    limit: int,
    after: int | None,
    stored: RosterCounts | None = None,
) -> dict[str, Any]:
    """One page of the roster: its contacts, `next_cursor`, the `total` of matching contacts,
    and the active `holders` of each role of the catalog (`roles`) open to the organization,
    from its maintained counts (`stored` when they were read with the organization).
    422 for an unknown role."""
    if filters.role is not None and filters.role not in {role.code for role in roles}:
        raise Unprocessable(
            "No role of the catalog has this code.",
            code="validation_failed",
            errors=[ErrorDetail("role", "unknown_role", "Not a role of the catalog.")],
        )
    found = paging.page(session=session, org_id=org.id, filters=filters, limit=limit, after=after)
    if stored is None:
        stored = counts.read(session=session, org_id=org.id)
    return {
        "contacts": found.contacts,
        "next_cursor": found.next_cursor,
        "total": paging.total(session=session, org_id=org.id, filters=filters, stored=stored),
        "holders": {
            role.code: stored.holders(role.code)
            for role in roles
            if role.audience in ("any", org.kind.value)
        },
    }


def with_requested(
    contacts: list[dict[str, Any]],
    projected: list[dict[str, Any]],
    *,
    with_new: bool = True,
) -> list[dict[str, Any]]:
    """Current contacts side by side with what a pending request asks for, plus (`with_new`)
    the contacts it adds. A contact the projection does not name stays as it is."""
    by_id = {p["id"]: p for p in projected if p["id"] is not None}
    merged = []
    for contact in contacts:
        target = by_id.get(contact["id"], contact)
        merged.append(
            {
                **contact,
                "requested": {
                    "roles": sorted(target["roles"]),
                    "fields": {
                        name: target[name]
                        for name in CONTACT_FIELDS
                        if target.get(name) != contact.get(name)
                    },
                    "status": target["status"],
                    "delete": target["status"] == ContactStatus.ARCHIVED.value,
                },
            }
        )
    for new in (p for p in projected if p["id"] is None and with_new):
        merged.append(
            {
                "id": None,
                "ref": new["ref"],
                **{name: new.get(name) for name in CONTACT_FIELDS},
                "status": "new",
                "roles": [],
                "account_status": "none",
                "requested": {
                    "roles": sorted(new["roles"]),
                    "fields": {name: new.get(name) for name in CONTACT_FIELDS},
                    "status": new["status"],
                    "delete": False,
                },
            }
        )
    return merged


def create_role(*, session: Session, data: dict[str, Any]) -> Role:
    """Add a role to the catalog (staff)."""
    if session.get(Role, data["code"]) is not None:
        raise Conflict("A role with this code exists already.", code="role_exists")
    role = Role(
        code=data["code"],
        name=data["name"],
        description="",
        audience="customer",
        permissions=[],
        grants_all=False,
        exceptions=[],
        emails=[],
        required=False,
        incompatible_with=[],
        position=len(list_roles(session=session)),
    )
    session.add(role)
    _change_role(session=session, role=role, data=data)
    return role


def update_role(*, session: Session, code: str, data: dict[str, Any]) -> Role:
    """Change a role of the catalog (staff)."""
    role = session.get(Role, code)
    if role is None:
        raise NotFound("No such role.", code="role_not_found")
    _change_role(session=session, role=role, data=data)
    return role


def _change_role(*, session: Session, role: Role, data: dict[str, Any]) -> None:
    unknown = set(data.get("incompatible_with", ())) - {r.code for r in list_roles(session=session)}
    unknown.discard(role.code)
    if unknown or role.code in data.get("incompatible_with", ()):
        raise Unprocessable(
            "incompatible_with names roles of the catalog other than this one.",
            code="validation_failed",
            errors=[ErrorDetail("incompatible_with", "unknown_role", "Not a role of the catalog.")],
        )
    for name in ("name", "description", "audience", "required", "grants_all"):
        if name in data:
            setattr(role, name, data[name])
    for name in ("permissions", "exceptions", "emails", "incompatible_with"):
        if name in data:
            setattr(role, name, sorted(dict.fromkeys(data[name])))
    # A role lists what it grants, or grants everything but its exceptions: never both.
    if role.grants_all:
        role.permissions = []
    elif role.exceptions:
        raise Unprocessable(
            "Only a role that grants everything has exceptions.",
            code="validation_failed",
            errors=[
                ErrorDetail("exceptions", "invalid_field", "Set grants_all, or list permissions.")
            ],
        )
    session.flush()


def required_role_violations(*, session: Session, role: Role) -> list[str]:
    """Organizations this role applies to where no active contact holds it (sorted slugs)."""
    if not role.required:
        return []
    return organizations_lacking(session=session, code=role.code, audience=role.audience)


def organizations_lacking(*, session: Session, code: str, audience: str) -> list[str]:
    """Organizations of the audience where no active contact holds the role `code` (sorted
    slugs): those that making it required would leave in breach, to show before saving."""
    kinds = [kind for kind in ("customer", "purchaser") if audience in ("any", kind)]
    holders = (
        select(Contact.organization_id)
        .join(ContactRole, ContactRole.contact_id == Contact.id)
        .where(ContactRole.role_code == code, Contact.status == ContactStatus.ACTIVE)
    )
    return list(
        session.scalars(
            select(Organization.slug)
            .where(Organization.kind.in_(kinds), Organization.id.not_in(holders))
            .order_by(Organization.slug)
        )
    )
