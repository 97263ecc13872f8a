"""Rules about the batch as a whole: size, refs, contradictions."""

from __future__ import annotations

import pytest

from service.validators.batch import batch_size, conflicting_changes, duplicate_ref
from tests.validators.context import ctx, found, new


def test_empty_batch_is_refused():
    assert found(batch_size(ctx([]))) == [("empty_batch", "changes")]


def test_batch_over_the_maximum_is_refused_and_at_the_maximum_accepted():
    item = {"op": "deactivate_contact", "contact_id": 5}
    assert found(batch_size(ctx([item] * 11))) == [("batch_too_large", "changes")]
    assert batch_size(ctx([item] * 10)) == []


def test_second_use_of_a_ref_is_a_duplicate_ref():
    changes = [new("n1"), new("n2", email="two@acme.example"), new("n1", email="x@acme.example")]
    assert found(duplicate_ref(ctx(changes))) == [("duplicate_ref", "changes/2/ref")]


def test_granting_and_revoking_the_same_role_conflict():
    changes = [
        {"op": "grant_role", "contact_id": 5, "role": "agreement"},
        {"op": "revoke_role", "contact_id": 5, "role": "agreement"},
    ]
    findings = conflicting_changes(ctx(changes))
    assert found(findings) == [("conflicting_changes", "changes/1")]
    assert "changes/0" in findings[0].message


def test_roles_of_different_contacts_or_different_roles_do_not_conflict():
    changes = [
        {"op": "grant_role", "contact_id": 5, "role": "agreement"},
        {"op": "grant_role", "contact_id": 5, "role": "management"},
        {"op": "grant_role", "contact_id": 2, "role": "agreement"},
    ]
    assert conflicting_changes(ctx(changes)) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "Boss"}},
            {"op": "delete_contact", "contact_id": 5},
            id="delete conflicts with any other change of the contact",
        ),
        pytest.param(
            {"op": "deactivate_contact", "contact_id": 5},
            {"op": "reactivate_contact", "contact_id": 5},
            id="deactivate and reactivate of one contact conflict",
        ),
    ],
)
def test_two_changes_of_one_contact_that_contradict_each_other_conflict(first, second):
    findings = conflicting_changes(ctx([first, second]))
    assert found(findings) == [("conflicting_changes", "changes/1")]


def test_two_updates_conflict_only_when_they_touch_the_same_field():
    apart = [
        {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "A"}},
        {"op": "update_contact", "contact_id": 5, "fields": {"phone": "+44 20 7946 0000"}},
    ]
    assert conflicting_changes(ctx(apart)) == []
    same = [apart[0], {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "B"}}]
    assert found(conflicting_changes(ctx(same))) == [("conflicting_changes", "changes/1")]


def test_revoking_a_role_a_new_contact_is_added_with_conflicts():
    changes = [
        new("n1", roles=("technical",)),
        {"op": "revoke_role", "ref": "n1", "role": "technical"},
    ]
    assert found(conflicting_changes(ctx(changes))) == [("conflicting_changes", "changes/1")]


def test_granting_and_revoking_one_delegate_conflict():
    changes = [
        {"op": "grant_delegate", "organization": "buyco"},
        {"op": "revoke_delegate", "organization": "buyco"},
    ]
    assert found(conflicting_changes(ctx(changes))) == [("conflicting_changes", "changes/1")]
