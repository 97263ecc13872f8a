"""`check` runs every rule at once; `project` shows the roster the batch would produce."""

from __future__ import annotations

from service.validators import RULES, check, project, projected_contacts
from tests.validators.context import ctx, found, new, roster


def test_every_problem_is_reported_at_once_in_item_order():
    changes = [
        new("n1", email="broken", roles=()),
        {"op": "revoke_role", "contact_id": 1, "role": "financial"},
        {"op": "grant_role", "contact_id": 99, "role": "astronaut"},
    ]
    errors, warnings = check(ctx(changes))
    assert found(errors) == [
        ("invalid_field", "changes/0/contact/email"),
        ("missing_field", "changes/0/roles"),
        ("required_role_missing", "changes/1"),
        ("contact_without_role", "changes/1"),
        ("unknown_contact", "changes/2/contact_id"),
        ("unknown_role", "changes/2/role"),
    ]
    assert warnings == []


def test_a_valid_batch_has_no_errors_but_keeps_its_warnings():
    changes = [{"op": "grant_role", "contact_id": 2, "role": "financial"}]
    errors, warnings = check(ctx(changes))
    assert errors == []
    assert found(warnings) == [("separation_of_duties", "changes/0")]


def test_projection_applies_the_batch_in_order_and_lists_new_contacts_last():
    changes = [
        new("n1", roles=("agreement",)),
        {"op": "grant_role", "ref": "n1", "role": "technical"},
        {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "  Lead  "}},
        {"op": "delete_contact", "contact_id": 3},
    ]
    projection = project(ctx(changes))
    contacts = projected_contacts(projection, roster=roster())
    assert [c["id"] for c in contacts] == [1, 2, 4, 5, None]
    assert contacts[-1]["ref"] == "n1"
    assert contacts[-1]["roles"] == ["agreement", "technical"]
    assert contacts[3]["job_title"] == "Lead"
    archived = projected_contacts(projection, roster=roster(), include_archived=True)
    assert [c["status"] for c in archived if c["id"] == 3] == ["archived"]


def test_projection_of_the_changes_alone_lists_what_the_batch_touches_in_order():
    changes = [
        {"op": "update_contact", "contact_id": 5, "fields": {"job_title": "Lead"}},
        new("n1", roles=("agreement",)),
        {"op": "delete_contact", "contact_id": 3},
        {"op": "grant_role", "contact_id": 5, "role": "management"},
    ]
    projection = project(ctx(changes))
    assert [(c["id"], c["ref"]) for c in projected_contacts(projection)] == [
        (5, None),
        (None, "n1"),
    ]
    touched = projected_contacts(projection, include_archived=True)
    assert [(c["id"], c["status"]) for c in touched] == [
        (5, "active"),
        (None, "active"),
        (3, "archived"),
    ]


def test_rules_never_change_the_roster_they_read():
    context = ctx([{"op": "revoke_role", "contact_id": 1, "role": "financial"}])
    before = {cid: (c.status, set(c.roles), dict(c.fields)) for cid, c in context.roster.items()}
    for rule in RULES:
        rule(context)
    assert {
        cid: (c.status, set(c.roles), dict(c.fields)) for cid, c in context.roster.items()
    } == before
