"""The plain data the rules read: the contacts a batch names, the roster's maintained counts,
the batch, the catalog. No database here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from service.vocabulary import MANDATORY_FIELDS, ContactStatus

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem with a batch: a stable code, where it is (`changes/3/roles`), and why."""

    code: str
    path: str
    message: str
    severity: Severity = "error"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ContactKey:
    """Which contact an item names: one of the roster by `id`, or one the batch adds by `ref`."""

    id: int | None = None
    ref: str | None = None

    @classmethod
    def of_id(cls, contact_id: int) -> ContactKey:
        return cls(id=contact_id)

    @classmethod
    def of_ref(cls, ref: str) -> ContactKey:
        return cls(ref=ref)

    @property
    def is_new(self) -> bool:
        """A contact the batch adds (named by its ref) rather than one of the roster."""
        return self.id is None


@dataclass
class RosterContact:
    """A contact as the rules see it. New contacts of a batch have `id=None` and a `ref`."""

    id: int | None
    status: ContactStatus
    fields: dict[str, str | None]
    roles: set[str]
    ref: str | None = None
    # Their assistant or additional contact: the id of another contact of the organization.
    assistant_id: int | None = None

    def copy(self) -> RosterContact:
        return RosterContact(
            id=self.id,
            status=self.status,
            fields=dict(self.fields),
            roles=set(self.roles),
            ref=self.ref,
            assistant_id=self.assistant_id,
        )


class CountKey(NamedTuple):
    """One maintained count of a roster: its contacts of one status, or (`role`) those of them
    who hold that role."""

    status: str
    role: str = ""

    @property
    def of_contacts(self) -> bool:
        return not self.role


def counts_of(contact: RosterContact | None) -> Counter[CountKey]:
    """What one contact adds to its roster's counts: itself under its status, and each of its
    roles; nothing when it is archived (or absent)."""
    if contact is None or contact.status == ContactStatus.ARCHIVED:
        return Counter()
    status = str(contact.status)
    return Counter([CountKey(status), *(CountKey(status, role) for role in contact.roles)])


def count_changes(
    pairs: Iterable[tuple[RosterContact | None, RosterContact | None]],
) -> Counter[CountKey]:
    """How the counts move when each contact goes from `before` to `after` (None: absent):
    `counts_of(after) - counts_of(before)`, summed over the pairs (run once per item of a
    batch, so without a Counter per contact)."""
    changes: dict[CountKey, int] = {}
    for before, after in pairs:
        for contact, sign in ((after, 1), (before, -1)):
            if contact is None or contact.status == ContactStatus.ARCHIVED:
                continue
            status = str(contact.status)
            for key in (CountKey(status), *(CountKey(status, role) for role in contact.roles)):
                changes[key] = changes.get(key, 0) + sign
    return Counter({key: n for key, n in changes.items() if n})


@dataclass(frozen=True)
class RosterCounts:
    """The maintained counts of a whole roster (service/contacts/counts.py keeps them)."""

    counts: Mapping[CountKey, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        """Active contacts: what the seat limit counts."""
        return self.counts.get(CountKey(ContactStatus.ACTIVE), 0)

    def holders(self, role: str) -> int:
        """Active contacts holding `role`: what "every required role is held" counts."""
        return self.counts.get(CountKey(ContactStatus.ACTIVE, role), 0)

    def plus(self, changes: Mapping[CountKey, int]) -> RosterCounts:
        total = Counter(self.counts)
        total.update(changes)
        return RosterCounts(dict(total))


@dataclass(frozen=True)
class RoleInfo:
    code: str
    name: str
    audience: str = "customer"
    required: bool = False
    incompatible_with: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrgInfo:
    id: int
    slug: str
    kind: str
    seat_limit: int | None = None
    name: str | None = None
    # The details a new contact must carry here (staff choose them per organization).
    required_fields: tuple[str, ...] = MANDATORY_FIELDS


@dataclass(frozen=True)
class CheckContext:
    """Everything the rules need, gathered by the request service in a fixed number of queries
    whatever the size of the roster: what the batch touches, and the roster's maintained counts.

    `changes` are the batch's items after the marshmallow shape check: plain dicts with `op`
    and that op's keys. `roster` holds the organization's non-archived contacts that the batch
    names by id (contacts it does not name are not read). `counts` are the whole roster's
    maintained counts before the batch. `email_holders` maps each lower-cased email that the
    batch brings to an active contact (a new contact, a changed email, a reactivated contact's
    own) to the ids of the organization's active contacts that have it now.
    `organizations` holds the organizations that delegate items name, by slug.
    `delegate_ids` are the organizations that currently hold a delegation from this one.
    `manager_accounts` are the organization's active contacts whose active account may manage
    its contacts (gathered only when the batch deletes someone).
    `account_statuses` holds the account status ("invited", "active", …) of each contact that an
    `invite_contact` item names and that has an account.
    """

    organization: OrgInfo
    roster: Mapping[int, RosterContact]
    changes: Sequence[Mapping[str, Any]]
    catalog: Mapping[str, RoleInfo]
    counts: RosterCounts = field(default_factory=RosterCounts)
    email_holders: Mapping[str, frozenset[int]] = field(default_factory=dict)
    organizations: Mapping[str, OrgInfo] = field(default_factory=dict)
    delegate_ids: frozenset[int] = frozenset()
    manager_accounts: frozenset[int] = frozenset()
    account_statuses: Mapping[int, str] = field(default_factory=dict)
    max_batch_size: int = 1000
    # Results derived from the context, shared by the rules (the projection, computed once).
    cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
