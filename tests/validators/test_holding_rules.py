"""Rules about who holds which role and who is active, before and after the batch."""

from __future__ import annotations

from dataclasses import replace

from service.validators import holdings
from service.validators.types import OrgInfo
from tests.validators.context import CATALOG, ctx, found, new, roster


def test_granting_a_held_role_or_revoking_one_not_held_is_refused():
    changes = [
        {"op": "grant_role", "contact_id": 2, "role": "management"},
        {"op": "revoke_role", "contact_id": 5, "role": "agreement"},
        new("n1", roles=("technical",)),
        {"op": "grant_role", "ref": "n1", "role": "technical"},
    ]
    assert found(holdings.role_holdings(ctx(changes))) == [
        ("role_already_held", "changes/0/role"),
        ("role_not_held", "changes/1/role"),
        ("role_already_held", "changes/3/role"),
    ]


def test_deactivating_an_inactive_contact_or_reactivating_an_active_one_changes_nothing():
    changes = [
        {"op": "deactivate_contact", "contact_id": 4},
        {"op": "reactivate_contact", "contact_id": 5},
        {"op": "reactivate_contact", "contact_id": 4},
    ]
    assert found(holdings.status_unchanged(ctx(changes))) == [
        ("status_unchanged", "changes/0"),
        ("status_unchanged", "changes/1"),
    ]


def test_revoking_the_only_holder_of_a_required_role_names_that_item():
    changes = [
        {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "Lead"}},
        {"op": "revoke_role", "contact_id": 1, "role": "financial"},
    ]
    findings = holdings.required_roles_held(ctx(changes))
    assert found(findings) == [("required_role_missing", "changes/1")]
    assert "Financial Contact" in findings[0].message


def test_deleting_or_deactivating_the_last_holders_is_caught_too():
    changes = [
        {"op": "delete_contact", "contact_id": 2},
        {"op": "deactivate_contact", "contact_id": 3},
    ]
    assert found(holdings.required_roles_held(ctx(changes))) == [
        ("required_role_missing", "changes/1")
    ]


def test_handing_a_required_role_over_within_the_batch_is_fine():
    changes = [
        {"op": "revoke_role", "contact_id": 1, "role": "financial"},
        new("n1", roles=("financial",)),
    ]
    assert holdings.required_roles_held(ctx(changes)) == []


def test_a_deactivated_holder_does_not_count():
    changes = [
        {"op": "grant_role", "contact_id": 4, "role": "financial"},
        {"op": "revoke_role", "contact_id": 1, "role": "financial"},
    ]
    assert found(holdings.required_roles_held(ctx(changes))) == [
        ("required_role_missing", "changes/1")
    ]


def test_a_required_role_that_was_never_held_is_reported_on_the_batch():
    whole = roster()
    whole[1].roles.clear()
    changes = [{"op": "update_contact", "contact_id": 5, "fields": {"job_title": "Lead"}}]
    assert found(holdings.required_roles_held(ctx(changes, roster=whole))) == [
        ("required_role_missing", "changes")
    ]


def test_required_roles_of_customers_do_not_bind_purchasers():
    purchaser = OrgInfo(id=2, slug="buyco", kind="purchaser")
    changes = [{"op": "revoke_role", "contact_id": 1, "role": "financial"}]
    assert holdings.required_roles_held(ctx(changes, organization=purchaser)) == []


def test_seat_limit_counts_active_contacts_after_the_batch():
    limited = OrgInfo(id=1, slug="acme", kind="customer", seat_limit=4)
    over = [new("n1")]
    assert found(holdings.seat_limit(ctx(over, organization=limited))) == [
        ("seat_limit_exceeded", "changes")
    ]
    swap = [new("n1"), {"op": "deactivate_contact", "contact_id": 5}]
    assert holdings.seat_limit(ctx(swap, organization=limited)) == []


def test_batch_that_shrinks_an_organization_over_its_limit_is_not_refused():
    limited = OrgInfo(id=1, slug="acme", kind="customer", seat_limit=2)
    changes = [{"op": "deactivate_contact", "contact_id": 5}]
    assert holdings.seat_limit(ctx(changes, organization=limited)) == []


def test_incompatible_roles_on_a_touched_contact_warn_at_its_last_item():
    changes = [
        {"op": "update_contact", "contact_id": 2, "fields": {"job_title": "CFO"}},
        {"op": "grant_role", "contact_id": 2, "role": "financial"},
    ]
    findings = holdings.separation_of_duties(ctx(changes))
    assert found(findings) == [("separation_of_duties", "changes/1")]
    assert findings[0].severity == "warning"


def test_a_contact_left_without_a_role_is_refused_unless_deactivated_or_deleted():
    changes = [
        {"op": "revoke_role", "contact_id": 5, "role": "technical"},
        {"op": "revoke_role", "contact_id": 3, "role": "cust_admin"},
        {"op": "deactivate_contact", "contact_id": 3},
        {"op": "revoke_role", "contact_id": 1, "role": "financial"},
        {"op": "delete_contact", "contact_id": 1},
        {"op": "revoke_role", "contact_id": 2, "role": "management"},
        {"op": "update_contact", "contact_id": 2, "fields": {"phone": "+44 20 7946 0000"}},
    ]
    assert found(holdings.contact_without_role(ctx(changes))) == [
        ("contact_without_role", "changes/0"),
    ]


MANAGERS = replace(
    CATALOG["cust_admin"], permissions=frozenset({"contacts:view", "contacts:manage"})
)


def test_deleting_the_last_contact_whose_account_manages_the_organization_is_refused():
    catalog = {**CATALOG, "cust_admin": MANAGERS}
    # Bo and Cy are admins; only Bo has an account.
    delete_bo = [{"op": "delete_contact", "contact_id": 2}]
    assert found(holdings.last_manager(ctx(delete_bo, catalog=catalog, manager_accounts={2}))) == [
        ("last_manager", "changes/0"),
    ]
    # Cy keeps an account too: Bo may go; then both may not, whatever else the batch does.
    assert holdings.last_manager(ctx(delete_bo, catalog=catalog, manager_accounts={2, 3})) == []
    both = [
        {"op": "delete_contact", "contact_id": 2},
        {"op": "revoke_role", "contact_id": 3, "role": "cust_admin"},
    ]
    assert found(holdings.last_manager(ctx(both, catalog=catalog, manager_accounts={2, 3}))) == [
        ("last_manager", "changes/0"),
    ]
    # Deleting someone else, or an admin with no account, is no lock-out.
    others = [{"op": "delete_contact", "contact_id": 3}, {"op": "delete_contact", "contact_id": 5}]
    assert holdings.last_manager(ctx(others, catalog=catalog, manager_accounts={2})) == []
