"""A change request as readable lines: who, what, before → after.

Used by the ticket detail, the ticket page and the "implemented" email. Names come from the
roster as it is now (or from the batch for new contacts); a purged contact reads as
"former contact".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.contacts.models import Contact, ContactStatus, Role
from service.organizations.models import Organization
from service.requests.models import ChangeRequestItem
from service.vocabulary import CONTACT_FIELDS, Op

FORMER_CONTACT = "former contact"


def describe(*, session: Session, change_request_id: int) -> list[dict[str, Any]]:
    """Each item of the request with a `summary` sentence and its `before`/`after` values."""
    items = session.scalars(
        select(ChangeRequestItem)
        .where(ChangeRequestItem.change_request_id == change_request_id)
        .order_by(ChangeRequestItem.position)
    ).all()
    contact_ids = {item.contact_id for item in items if item.contact_id is not None}
    contacts = {
        c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
    }
    roles = dict(session.execute(select(Role.code, Role.name)).tuples().all())
    org_ids = {i.target_organization_id for i in items if i.target_organization_id is not None}
    orgs = dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
        )
        .tuples()
        .all()
    )
    new_names = {
        item.payload["ref"]: _full_name(item.payload.get("contact", {}))
        for item in items
        if item.op == Op.ADD_CONTACT
    }
    return [_line(item, contacts, roles, orgs, new_names) for item in items]


def _line(
    item: ChangeRequestItem,
    contacts: Mapping[int, Contact],
    roles: Mapping[str, str],
    orgs: Mapping[int, str],
    new_names: Mapping[str, str],
) -> dict[str, Any]:
    payload = item.payload
    contact = contacts.get(item.contact_id) if item.contact_id else None
    if contact is not None:
        who = _contact_name(contact)
    elif item.ref:
        who = new_names.get(item.ref) or f"new contact {item.ref}"
    else:
        who = FORMER_CONTACT
    role = roles.get(item.role_code or "", item.role_code or "")
    line: dict[str, Any] = {
        "position": item.position,
        "op": item.op,
        "contact_id": item.contact_id,
        "ref": item.ref,
        "contact": who,
        "before": None,
        "after": None,
    }
    op = item.op
    if op == Op.ADD_CONTACT:
        named = ", ".join(roles.get(code, code) for code in payload.get("roles", []))
        line["summary"] = f"Add {who} as {named}"
        line["after"] = {k: payload["contact"].get(k) for k in CONTACT_FIELDS}
    elif op == Op.UPDATE_CONTACT:
        fields = payload.get("fields", {})
        line["summary"] = f"Change {', '.join(_label(k) for k in fields)} of {who}"
        line["before"] = item.before
        line["after"] = dict(fields)
    elif op == Op.GRANT_ROLE:
        line["summary"] = f"Grant {role} to {who}"
    elif op == Op.REVOKE_ROLE:
        line["summary"] = f"Revoke {role} from {who}"
    elif op == Op.DEACTIVATE_CONTACT:
        line["summary"] = f"Deactivate {who}"
    elif op == Op.REACTIVATE_CONTACT:
        line["summary"] = f"Reactivate {who}"
    elif op == Op.DELETE_CONTACT:
        line["summary"] = f"Delete {who} and erase their personal data"
    elif op == Op.GRANT_DELEGATE:
        name = orgs.get(item.target_organization_id or 0, payload.get("organization", ""))
        line["summary"] = f"Let {name} manage this organization's contacts"
    elif op == Op.REVOKE_DELEGATE:
        name = orgs.get(item.target_organization_id or 0, payload.get("organization", ""))
        line["summary"] = f"End {name}'s access to this organization's contacts"
    else:
        line["summary"] = op
    return line


def _contact_name(contact: Contact) -> str:
    if contact.status == ContactStatus.ARCHIVED or not contact.last_name:
        return FORMER_CONTACT
    return _full_name({"first_name": contact.first_name, "last_name": contact.last_name})


def _full_name(details: Mapping[str, Any]) -> str:
    return " ".join(str(details[k]).strip() for k in ("first_name", "last_name") if details.get(k))


def _label(name: str) -> str:
    return name.replace("_", " ")
