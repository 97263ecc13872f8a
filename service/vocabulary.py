"""The domain's words, shared by every layer: batch operations, contact statuses, contact fields.

Plain values without behaviour. The rules (`service/validators/`), the models, the schemas and the
pages all speak them, so a name is spelled in one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Op(enum.StrEnum):
    """The operations a change request's items carry (`"op"` in docs/api.md)."""

    ADD_CONTACT = "add_contact"
    UPDATE_CONTACT = "update_contact"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"
    DEACTIVATE_CONTACT = "deactivate_contact"
    REACTIVATE_CONTACT = "reactivate_contact"
    DELETE_CONTACT = "delete_contact"
    GRANT_DELEGATE = "grant_delegate"
    REVOKE_DELEGATE = "revoke_delegate"
    INVITE_CONTACT = "invite_contact"


ROLE_OPS = frozenset({Op.GRANT_ROLE, Op.REVOKE_ROLE})
DELEGATE_OPS = frozenset({Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE})


class ContactStatus(enum.StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    ARCHIVED = "archived"


# The status each status-changing operation leaves its contact in.
STATUS_BY_OP = {
    Op.DEACTIVATE_CONTACT: ContactStatus.DEACTIVATED,
    Op.REACTIVATE_CONTACT: ContactStatus.ACTIVE,
    Op.DELETE_CONTACT: ContactStatus.ARCHIVED,
}

CONTACT_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "email",
    "alternate_email",
    "job_title",
    "phone",
    "mobile",
)
# The detail that names a contact's assistant or additional contact (another contact's id).
ASSISTANT = "assistant_id"
# Fields a new contact must carry, and that an update may not blank.
MANDATORY_FIELDS = ("salutation", "first_name", "last_name", "email")


@dataclass(frozen=True)
class Module:
    """One row of the permission matrix: a module, and the permissions that let a role view it
    and edit it (None where the module has no such right)."""

    code: str
    name: str
    view: str | None
    edit: str | None


# Every permission a role may grant, as the matrix shows them. `service/access.py` checks the
# first three modules' rights; the others are for the products around the service. A role that
# grants "everything except" grants every permission of this table but its exceptions.
MODULES = (
    Module("contacts", "Contacts", "contacts:view", "contacts:manage"),
    Module("tickets", "Change requests", "tickets:view", "tickets:comment"),
    Module("delegations", "Delegated access", None, "delegations:edit"),
    Module("invoices", "Invoices", "invoices:view", "invoices:edit"),
    Module("agreements", "Agreements", "agreements:view", "agreements:edit"),
    Module("support", "Support", "support:view", "support:manage"),
)
ALL_PERMISSIONS = frozenset(
    permission for module in MODULES for permission in (module.view, module.edit) if permission
)

# The permission that lets an account manage its organization's contacts (`Permission` in
# service/access.py spells it too): the rules keep at least one such account.
MANAGING_PERMISSION = "contacts:manage"
SALUTATIONS = ("Mr", "Ms", "Mrs", "Mx", "Dr", "Prof")
