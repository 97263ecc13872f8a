"""Who may do what, written once: permission names, what an actor may see and manage, and the
predicates that services enforce and pages ask before showing a control.

Roles grant permissions named `module:action` (the role catalog, `service/contacts/roles.json`),
shown as a module x view/edit matrix (`service/vocabulary.py: MODULES`). A role either lists what
it grants or grants everything but a listed few (`Role.grants`); either way the actor's
permissions are what its roles grant, and only the predicates below decide what they allow.
An actor reaches an organization in one of three ways, and holds there:

- **staff** of the vendor: every organization and ticket, to read (`STAFF_POWERS`), and the review
  actions (assign, question, approve, reject, retry, the role catalog, plans, onboarding and
  closing organizations). Staff never submit or cancel a customer's request. Adding and
  deactivating staff accounts takes a staff permission of its own (`STAFF_ONLY_PERMISSIONS`),
  listed on the staff account, never granted by a role.
- **a member**: an account is a contact of any number of organizations (its memberships); in
  each it holds what that contact's roles grant there, and nothing of it anywhere else.
- **a delegate**: an account holding `contacts:manage` in a purchaser organization that a customer
  granted access to (`grant_delegate`). In that customer it holds `DELEGATE_POWERS`, whatever
  else its roles grant at home, until the delegation is revoked. A membership of the customer
  itself comes first.

Anything else answers 404, exactly like a missing organization or ticket; a visible one without
the permission answers 403.

Managing invitations (send a new link, revoke one) is part of `contacts:manage`, and so of a
delegate's powers: a delegate adds people on the customer's behalf, and may need to send the
person it added a fresh link. Links only ever go to the address that staff approved.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from service.accounts.models import User, UserStatus
from service.accounts.service import Actor
from service.contacts.models import Contact, ContactRole
from service.errors import Forbidden, NotFound
from service.organizations.models import Delegation, Organization
from service.tickets.models import FINAL_STATUSES, Ticket, TicketStatus, parse_reference
from service.tickets.workflow import allowed
from service.validators.types import RoleInfo
from service.vocabulary import DELEGATE_OPS, ContactStatus


class Permission(enum.StrEnum):
    """The permissions the service itself checks. Roles may name others (`invoices:view`…)
    for the products around it; those grant nothing here."""

    CONTACTS_VIEW = "contacts:view"
    CONTACTS_MANAGE = "contacts:manage"
    TICKETS_VIEW = "tickets:view"
    TICKETS_COMMENT = "tickets:comment"
    # Granting a partner organization access to the contacts, or ending it (the delegate
    # operations of a batch), beside `contacts:manage`.
    DELEGATIONS_EDIT = "delegations:edit"
    STAFF_MANAGE = "staff:manage"


# What a delegate holds in an organization that granted its organization access.
DELEGATE_POWERS = frozenset(
    {
        Permission.CONTACTS_VIEW,
        Permission.CONTACTS_MANAGE,
        Permission.TICKETS_VIEW,
        Permission.TICKETS_COMMENT,
        Permission.DELEGATIONS_EDIT,
    }
)
# What staff hold in every customer organization: they read and comment; they review tickets
# through the staff-only actions, never by requesting changes themselves.
STAFF_POWERS = frozenset(
    {Permission.CONTACTS_VIEW, Permission.TICKETS_VIEW, Permission.TICKETS_COMMENT}
)

# What a staff account may hold beyond every staff member's review work, listed on the account
# (`User.staff_permissions`): `staff:manage` adds and deactivates staff accounts.
STAFF_ONLY_PERMISSIONS = frozenset({Permission.STAFF_MANAGE})

ORGANIZATION_NOT_FOUND = "No such organization."
TICKET_NOT_FOUND = "No such ticket."


@dataclass(frozen=True)
class OrgScope:
    """An actor within one organization: what it holds there, and how it got there."""

    actor: Actor
    org: Organization
    permissions: frozenset[str]
    # The delegate organization the actor acts from, when it reaches `org` by a delegation.
    via_id: int | None = None

    @property
    def delegated(self) -> bool:
        return self.via_id is not None

    @property
    def is_staff(self) -> bool:
        return self.actor.is_staff

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def acting_organization_id(self) -> int | None:
        """The delegate organization the actor acts from, when it is not the organization."""
        return self.via_id

    @property
    def actor_organization_id(self) -> int:
        """The organization the actor acts for here, as the event log records it: the
        organization itself for a member, the delegate's own, or the vendor for staff."""
        if self.actor.is_staff:
            return self.actor.organization.id
        return self.via_id if self.via_id is not None else self.org.id


# --- Organizations ----------------------------------------------------------------------------


def delegations_held(*, session: Session, actor: Actor) -> dict[int, int]:
    """Organizations whose contacts the actor manages as a delegate, each with the delegate
    organization (one the actor manages) it acts from."""
    managing = sorted(
        m.organization.id for m in actor.memberships if Permission.CONTACTS_MANAGE in m.permissions
    )
    if actor.is_staff or not managing:
        return {}
    held: dict[int, int] = {}
    for org_id, via_id in session.execute(
        select(Delegation.organization_id, Delegation.delegate_organization_id)
        .where(
            Delegation.delegate_organization_id.in_(managing),
            Delegation.revoked_at.is_(None),
        )
        .order_by(Delegation.id)
    ):
        held.setdefault(org_id, via_id)
    return held


class Holder(NamedTuple):
    contact_id: int
    user_id: int


def holders(*, session: Session, org_id: int, roles: Collection[str]) -> list[Holder]:
    """The organization's active contacts whose active account holds one of `roles`."""
    if not roles:
        return []
    rows = session.execute(
        select(Contact.id, User.id)
        .join(User, User.id == Contact.user_id)
        .join(ContactRole, ContactRole.contact_id == Contact.id)
        .where(
            Contact.organization_id == org_id,
            Contact.status == ContactStatus.ACTIVE,
            User.status == UserStatus.ACTIVE,
            ContactRole.role_code.in_(roles),
        )
        .distinct()
    )
    return [Holder(*row) for row in rows]


def managers(*, session: Session, org_id: int, catalog: Mapping[str, RoleInfo]) -> list[Holder]:
    """Who manages the organization's contacts: the holders of a role of the catalog that
    grants `contacts:manage`. The rules count them (`last_manager`); the notifications write to
    them."""
    managing = [
        code for code, role in catalog.items() if Permission.CONTACTS_MANAGE in role.permissions
    ]
    return holders(session=session, org_id=org_id, roles=managing)


def delegated_org_ids(*, session: Session, actor: Actor) -> set[int]:
    """Organizations whose contacts the actor manages as a delegate."""
    return set(delegations_held(session=session, actor=actor))


def scope(*, session: Session, actor: Actor, org: Organization) -> OrgScope | None:
    """What the actor holds in `org`; None when the organization is not theirs to see."""
    if actor.is_staff:
        return OrgScope(actor, org, STAFF_POWERS)
    membership = actor.membership(org.id)
    if membership is not None:
        return OrgScope(actor, org, membership.permissions)
    via_id = delegations_held(session=session, actor=actor).get(org.id)
    if via_id is not None:
        return OrgScope(actor, org, DELEGATE_POWERS, via_id=via_id)
    return None


def visible_org(
    *, session: Session, actor: Actor, slug: str, options: Sequence[ORMOption] = ()
) -> OrgScope:
    """The organization as the actor may see it; 404 when it does not exist or is not theirs.
    `options` read more with it in the same statement (`with_expression`)."""
    org = session.scalar(_org_by_slug(tuple(options)), {"slug": slug})
    found = scope(session=session, actor=actor, org=org) if org is not None else None
    if found is None:
        raise NotFound(ORGANIZATION_NOT_FOUND, code="organization_not_found")
    return found


@functools.lru_cache(maxsize=16)
def _org_by_slug(options: tuple[ORMOption, ...]) -> Select[tuple[Organization]]:
    """The organization named by `:slug`, with what `options` read with it; built once for
    each set of options (they are made once too)."""
    query = select(Organization).where(Organization.slug == bindparam("slug"))
    if options:
        query = query.options(*options).execution_options(populate_existing=True)
    return query


def can_view_roster(scope: OrgScope) -> bool:
    return scope.can(Permission.CONTACTS_VIEW) or scope.can(Permission.CONTACTS_MANAGE)


def require_roster(scope: OrgScope) -> OrgScope:
    """403 unless the actor may read this organization's roster."""
    if not can_view_roster(scope):
        raise Forbidden("Your roles do not let you see this organization's contacts.")
    return scope


def can_manage(scope: OrgScope) -> bool:
    """Whether the actor may request changes to the roster and manage its invitations."""
    return not scope.is_staff and scope.can(Permission.CONTACTS_MANAGE)


def require_manage(scope: OrgScope) -> OrgScope:
    """403 unless the actor may request changes to this organization's contacts."""
    if not can_manage(scope):
        raise Forbidden(
            "Your roles do not let you request changes to this organization's contacts.",
            code="forbidden",
        )
    return scope


def can_change_delegations(scope: OrgScope) -> bool:
    """Whether the actor may grant partner organizations access to the contacts or end it."""
    return can_manage(scope) and scope.can(Permission.DELEGATIONS_EDIT)


def require_batch_rights(scope: OrgScope, changes: Sequence[Mapping[str, Any]]) -> None:
    """403 unless the actor holds what each item of the batch needs beyond managing contacts:
    the delegate operations need `delegations:edit`."""
    if any(item.get("op") in DELEGATE_OPS for item in changes) and not can_change_delegations(
        scope
    ):
        raise Forbidden(
            "Your roles do not let you grant or end delegated access.", code="forbidden"
        )


def roster_org(
    *, session: Session, actor: Actor, slug: str, options: Sequence[ORMOption] = ()
) -> OrgScope:
    """The organization whose roster the actor reads: 404 if not theirs, 403 without the role."""
    return require_roster(visible_org(session=session, actor=actor, slug=slug, options=options))


def managed_org(*, session: Session, actor: Actor, slug: str) -> OrgScope:
    """The organization, for those who may manage its contacts: 404 for anyone who may not see
    it, 403 for those who may only read it."""
    return require_manage(visible_org(session=session, actor=actor, slug=slug))


def require_staff(actor: Actor, *, what: str) -> None:
    """403 unless the actor is the vendor's staff; `what` completes "Only staff may …"."""
    if not actor.is_staff:
        raise Forbidden(f"Only the vendor's staff may {what}.")


def staff_can(actor: Actor, permission: Permission) -> bool:
    """Whether a staff account holds one of the staff-only permissions."""
    return (
        actor.is_staff
        and permission in STAFF_ONLY_PERMISSIONS
        and permission in (actor.user.staff_permissions or ())
    )


def can_manage_staff(actor: Actor) -> bool:
    return staff_can(actor, Permission.STAFF_MANAGE)


def require_manage_staff(actor: Actor) -> None:
    """403 unless the actor is staff holding `staff:manage`."""
    require_staff(actor, what="manage staff accounts")
    if not can_manage_staff(actor):
        raise Forbidden("Adding and deactivating staff accounts needs the staff:manage permission.")


def subject_access_org(*, session: Session, actor: Actor, slug: str) -> OrgScope:
    """Where staff may export what is held about a contact: 404 when the organization is out of
    reach, 403 for anyone but staff (a customer asks the vendor, who answers for the service)."""
    found = visible_org(session=session, actor=actor, slug=slug)
    require_staff(actor, what="export what is held about a contact")
    return found


def roster_orgs(*, session: Session, actor: Actor) -> list[Organization]:
    """The organizations whose roster the actor opens from the organization switcher: its
    memberships (home first, then by name), then those delegated to it, by name."""
    if actor.is_staff:
        return []
    own = [
        m.organization
        for m in actor.memberships
        if can_view_roster(OrgScope(actor, m.organization, m.permissions))
    ]
    member_of = {m.organization.id for m in actor.memberships}
    delegated = delegated_org_ids(session=session, actor=actor) - member_of
    return own + _orgs(session, delegated, by=Organization.name)


def managed_orgs(*, session: Session, actor: Actor) -> list[Organization]:
    """The organizations whose contacts the actor may manage: memberships (home first, then by
    name), then those delegated to it, by slug."""
    if actor.is_staff:
        return []
    own = [m.organization for m in actor.memberships if Permission.CONTACTS_MANAGE in m.permissions]
    member_of = {m.organization.id for m in actor.memberships}
    delegated = delegated_org_ids(session=session, actor=actor) - member_of
    return own + _orgs(session, delegated, by=Organization.slug)


def _orgs(session: Session, ids: set[int], *, by: Any) -> list[Organization]:
    if not ids:
        return []
    return list(session.scalars(select(Organization).where(Organization.id.in_(ids)).order_by(by)))


# --- Tickets ----------------------------------------------------------------------------------


_TICKET_LISTERS = frozenset({Permission.TICKETS_VIEW, Permission.CONTACTS_MANAGE})


def can_see_tickets(actor: Actor) -> bool:
    """Whether the actor has a ticket list at all (its organizations', or staff's queue)."""
    return actor.is_staff or any(_TICKET_LISTERS & m.permissions for m in actor.memberships)


def ticket_org_ids(*, session: Session, actor: Actor) -> set[int] | None:
    """The organizations whose tickets the actor may list; None for staff (all of them)."""
    if actor.is_staff:
        return None
    if not can_see_tickets(actor):
        raise Forbidden("Your roles do not let you see this organization's tickets.")
    own = {m.organization.id for m in actor.memberships if _TICKET_LISTERS & m.permissions}
    return own | delegated_org_ids(session=session, actor=actor)


@dataclass(frozen=True)
class TicketAccess:
    """The actor and one ticket it may see, with what it holds in the ticket's organization."""

    ticket: Ticket
    scope: OrgScope
    is_requester: bool

    @property
    def actor(self) -> Actor:
        return self.scope.actor

    @property
    def is_staff(self) -> bool:
        return self.scope.is_staff


def ticket_access(*, session: Session, actor: Actor, reference: str) -> TicketAccess:
    """The ticket behind a reference, as the actor may see it: 404 when it is not theirs, 403
    when its organization is theirs but their roles show no tickets."""
    ticket_id = parse_reference(reference)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    org = session.get(Organization, ticket.organization_id) if ticket is not None else None
    found = scope(session=session, actor=actor, org=org) if org is not None else None
    if ticket is None or found is None:
        raise NotFound(TICKET_NOT_FOUND, code="ticket_not_found")
    access = TicketAccess(ticket, found, is_requester=ticket.requester_id == actor.user.id)
    if not (
        access.is_requester
        or found.can(Permission.TICKETS_VIEW)
        or found.can(Permission.CONTACTS_MANAGE)
    ):
        raise Forbidden("Your roles do not let you see this organization's tickets.")
    return access


def speaks_for_customer(access: TicketAccess) -> bool:
    """The requester, or an admin of the organization (a delegate included)."""
    return not access.is_staff and (access.is_requester or can_manage(access.scope))


def can_comment(access: TicketAccess) -> bool:
    return (
        access.is_staff
        or speaks_for_customer(access)
        or access.scope.can(Permission.TICKETS_COMMENT)
    )


def require_comment(access: TicketAccess, *, internal: bool, query: bool) -> None:
    """403 unless the actor may write this kind of comment on the ticket."""
    if (internal or query) and not access.is_staff:
        raise Forbidden("Only the vendor's staff may write internal notes or ask questions.")
    if not can_comment(access):
        raise Forbidden("Your roles do not let you comment on this organization's tickets.")


def can_cancel(access: TicketAccess) -> bool:
    return speaks_for_customer(access)


def require_cancel(access: TicketAccess) -> None:
    _require_customer(access, "cancel", can_cancel, staff_do="reject tickets; cancelling")


def can_amend(access: TicketAccess) -> bool:
    """The requester, or another admin of the organization (a delegate's included)."""
    return speaks_for_customer(access)


def require_amend(access: TicketAccess) -> None:
    _require_customer(access, "amend", can_amend, staff_do="ask questions; amending the batch")


def _require_customer(
    access: TicketAccess, verb: str, can: Callable[[TicketAccess], bool], *, staff_do: str
) -> None:
    """403 unless the actor may take this step of the customer's own (cancel, amend): staff do
    something else instead (`staff_do`); of the customer, those the predicate `can` allows."""
    if access.is_staff:
        raise Forbidden(f"Staff {staff_do} is for the customer.")
    if not can(access):
        raise Forbidden(f"Only the requester or an admin of the organization may {verb} it.")


def ticket_abilities(access: TicketAccess, *, approved_already: bool) -> dict[str, Any]:
    """Which controls a ticket page offers: the predicates above, and the state machine."""
    status, staff = access.ticket.status, access.is_staff
    return {
        "comment": can_comment(access),
        "ask": staff and status in (TicketStatus.OPEN, TicketStatus.AWAITING_CUSTOMER),
        "cancel": can_cancel(access) and allowed("cancel", status),
        "amend": can_amend(access) and allowed("amend", status),
        "assign": staff and status not in FINAL_STATUSES,
        "approve": staff and allowed("approve", status),
        "approved_already": approved_already,
        "reject": staff and allowed("reject", status),
        "retry": staff and allowed("retry", status),
        "roster": can_view_roster(access.scope),
    }
