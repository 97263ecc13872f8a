"""Rules about what items point at: contacts, roles, organizations."""

from __future__ import annotations

from service.validators.references import delegations, unknown_contact, unknown_role
from tests.validators.context import BUYCO, ctx, found, new


def test_contact_id_outside_the_roster_is_unknown():
    changes = [
        {"op": "delete_contact", "contact_id": 99},
        {"op": "delete_contact", "contact_id": 5},
    ]
    assert found(unknown_contact(ctx(changes))) == [("unknown_contact", "changes/0/contact_id")]


def test_ref_that_no_add_contact_defines_is_unknown():
    changes = [
        new("n1"),
        {"op": "grant_role", "ref": "n2", "role": "agreement"},
        {"op": "grant_role", "ref": "n1", "role": "agreement"},
    ]
    assert found(unknown_contact(ctx(changes))) == [("unknown_contact", "changes/1/ref")]


def test_ref_may_be_used_before_the_item_that_adds_it():
    changes = [{"op": "grant_role", "ref": "n1", "role": "agreement"}, new("n1")]
    assert unknown_contact(ctx(changes)) == []


def test_unknown_roles_are_reported_where_they_are_named():
    changes = [
        new("n1", roles=("technical", "astronaut")),
        {"op": "grant_role", "contact_id": 5, "role": "astronaut"},
    ]
    assert found(unknown_role(ctx(changes))) == [
        ("unknown_role", "changes/0/roles/1"),
        ("unknown_role", "changes/1/role"),
    ]


def test_role_for_another_kind_of_organization_is_unknown_here():
    changes = [{"op": "grant_role", "contact_id": 5, "role": "partner_admin"}]
    findings = unknown_role(ctx(changes))
    assert found(findings) == [("unknown_role", "changes/0/role")]
    assert "customer" in findings[0].message


def test_an_unknown_organization_and_a_non_purchaser_get_one_answer_and_itself_its_own():
    changes = [
        {"op": "grant_delegate", "organization": "nowhere"},
        {"op": "grant_delegate", "organization": "vendor"},
        {"op": "grant_delegate", "organization": "acme"},
    ]
    findings = delegations(ctx(changes))
    assert found(findings) == [
        ("unknown_organization", f"changes/{position}/organization") for position in range(3)
    ]
    unknown, not_purchaser, own = (finding.message for finding in findings)
    assert unknown == not_purchaser == "No purchaser organization has this short name."
    assert own == "This is your own organization: give access to a purchaser organization."
    assert not any("slug" in finding.message for finding in findings)


def test_revoking_answers_alike_for_every_organization_without_a_delegation():
    changes = [
        {"op": "revoke_delegate", "organization": slug} for slug in ("nowhere", "acme", "buyco")
    ]
    findings = delegations(ctx(changes))
    assert {(f.code, f.message) for f in findings} == {("delegation_missing", findings[0].message)}
    assert len(findings) == 3


def test_granting_twice_or_revoking_what_was_never_granted_is_refused():
    grant = [{"op": "grant_delegate", "organization": "buyco"}]
    revoke = [{"op": "revoke_delegate", "organization": "buyco"}]
    assert delegations(ctx(grant)) == []
    assert found(delegations(ctx(revoke))) == [("delegation_missing", "changes/0/organization")]
    held = frozenset({BUYCO.id})
    assert found(delegations(ctx(grant, delegate_ids=held))) == [
        ("delegation_exists", "changes/0/organization")
    ]
    assert delegations(ctx(revoke, delegate_ids=held)) == []
