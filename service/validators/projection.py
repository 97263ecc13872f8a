"""What a batch would make of the contacts it names, item by item; the rules that need "after"
read it, and the roster's counts after the batch follow from it (`counts_after`).

Items that cannot be resolved (an unknown contact, a duplicate ref) are skipped here: other
rules report them, and the projection stays the best picture of what the requester meant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.validators.types import (
    CheckContext,
    ContactKey,
    CountKey,
    RosterContact,
    RosterCounts,
    count_changes,
)
from service.vocabulary import (
    ASSISTANT,
    CONTACT_FIELDS,
    DELEGATE_OPS,
    STATUS_BY_OP,
    ContactStatus,
    Op,
)


def target_key(item: Mapping[str, Any]) -> ContactKey | None:
    """The contact an item acts on, or None for items about organizations."""
    if item["op"] == Op.ADD_CONTACT:
        return ContactKey.of_ref(item["ref"])
    if "contact_id" in item:
        return ContactKey.of_id(item["contact_id"])
    if "ref" in item:
        return ContactKey.of_ref(item["ref"])
    return None


def clean(value: Any) -> str | None:
    """Detail values as they will be stored: surrounding blanks trimmed, empty means unset."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def details_given(
    changes: Sequence[Mapping[str, Any]],
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], str]]:
    """Each item that gives a contact's details (a new contact, or an update's fields), with
    those details and their path (`changes/<i>/contact` or `changes/<i>/fields`)."""
    for position, item in enumerate(changes):
        if item["op"] == Op.ADD_CONTACT:
            yield item, item["contact"], f"changes/{position}/contact"
        elif item["op"] == Op.UPDATE_CONTACT:
            yield item, item["fields"], f"changes/{position}/fields"


def first_refs(ctx: CheckContext) -> dict[str, int]:
    """Each ref of the batch and the position of the add_contact item that defines it."""
    refs: dict[str, int] = {}
    for position, item in enumerate(ctx.changes):
        if item["op"] == Op.ADD_CONTACT:
            refs.setdefault(item["ref"], position)
    return refs


def exists(ctx: CheckContext, key: ContactKey, refs: Mapping[str, int]) -> bool:
    return key.id in ctx.roster if key.id is not None else key.ref in refs


@dataclass
class Projection:
    """The contacts the batch names (and adds), after the batch. Contacts of the roster are
    shared until an item changes them."""

    contacts: dict[ContactKey, RosterContact]
    # The positions of the items that act on each contact, in batch order.
    touched_by: dict[ContactKey, list[int]] = field(default_factory=dict)
    delegate_ids: set[int] = field(default_factory=set)

    def writable(self, key: ContactKey) -> RosterContact | None:
        """The contact under `key`, copied on its first change so the roster stays as read."""
        contact = self.contacts.get(key)
        if contact is not None and key not in self.touched_by:
            contact = self.contacts[key] = contact.copy()
        return contact


def project(ctx: CheckContext) -> Projection:
    """Apply the batch to the roster, in order. Computed once per context; rules only read it."""
    cached = ctx.cache.get("projection")
    if cached is None:
        cached = ctx.cache["projection"] = start(ctx)
        for position, item in enumerate(ctx.changes):
            apply_item(ctx, cached, position, item)
    assert isinstance(cached, Projection)
    return cached


def start(ctx: CheckContext) -> Projection:
    """A projection of the roster before any item."""
    return Projection(
        contacts={ContactKey.of_id(cid): contact for cid, contact in ctx.roster.items()},
        delegate_ids=set(ctx.delegate_ids),
    )


def apply_item(
    ctx: CheckContext, projection: Projection, position: int, item: Mapping[str, Any]
) -> None:
    """Apply one item to the projection; unresolvable items change nothing."""
    op = item["op"]
    if op in DELEGATE_OPS:
        other = ctx.organizations.get(item["organization"])
        if other is not None:
            if op == Op.GRANT_DELEGATE:
                projection.delegate_ids.add(other.id)
            else:
                projection.delegate_ids.discard(other.id)
        return
    key = target_key(item)
    assert key is not None
    if op == Op.ADD_CONTACT:
        if key in projection.contacts:
            return
        projection.contacts[key] = RosterContact(
            id=None,
            ref=item["ref"],
            status=ContactStatus.ACTIVE,
            fields={name: clean(item["contact"].get(name)) for name in CONTACT_FIELDS},
            roles={code for code in item.get("roles", ()) if code in ctx.catalog},
            assistant_id=item["contact"].get(ASSISTANT),
        )
        projection.touched_by.setdefault(key, []).append(position)
        return
    contact = projection.writable(key)
    if contact is None:
        return
    projection.touched_by.setdefault(key, []).append(position)
    if op == Op.UPDATE_CONTACT:
        for name, value in item["fields"].items():
            if name == ASSISTANT:
                contact.assistant_id = value
            else:
                contact.fields[name] = clean(value)
    elif op == Op.GRANT_ROLE and item["role"] in ctx.catalog:
        contact.roles.add(item["role"])
    elif op == Op.REVOKE_ROLE:
        contact.roles.discard(item["role"])
    elif op in STATUS_BY_OP:
        contact.status = STATUS_BY_OP[op]


def count_changes_of_batch(ctx: CheckContext) -> Counter[CountKey]:
    """How the batch moves the roster's counts: each contact it touches, before and after."""
    cached = ctx.cache.get("count_changes")
    if cached is None:
        projection = project(ctx)
        cached = ctx.cache["count_changes"] = count_changes(
            (ctx.roster.get(key.id) if key.id is not None else None, projection.contacts[key])
            for key in projection.touched_by
        )
    assert isinstance(cached, Counter)
    return cached


def counts_after(ctx: CheckContext) -> RosterCounts:
    """The roster's counts once the batch is applied."""
    return ctx.counts.plus(count_changes_of_batch(ctx))


def projected_contacts(
    projection: Projection,
    *,
    roster: Mapping[int, RosterContact] | None = None,
    include_archived: bool = False,
) -> list[dict[str, Any]]:
    """The projected contacts as plain dicts. With `roster` (every contact before the batch) the
    whole roster after it, in the roster's order with new contacts last; without it only the
    contacts the batch touches, in the order it first touches them."""
    if roster is None:
        contacts = [projection.contacts[key] for key in projection.touched_by]
    else:
        contacts = [
            projection.contacts.get(ContactKey.of_id(contact_id), contact)
            for contact_id, contact in roster.items()
        ] + [contact for key, contact in projection.contacts.items() if key.is_new]
    return [
        {
            "id": contact.id,
            "ref": contact.ref,
            **contact.fields,
            ASSISTANT: contact.assistant_id,
            "status": contact.status,
            "roles": sorted(contact.roles),
        }
        for contact in contacts
        if include_archived or contact.status != ContactStatus.ARCHIVED
    ]
