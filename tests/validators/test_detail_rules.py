"""Rules about contact details: mandatory fields and formats; no values in messages."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.validators.details import invalid_field, missing_field
from tests.validators.context import ACME, ctx, found, new


def test_new_contact_needs_every_mandatory_field_and_a_role():
    item = new(roles=())
    del item["contact"]["salutation"]
    item["contact"]["last_name"] = "   "
    assert found(missing_field(ctx([item]))) == [
        ("missing_field", "changes/0/contact/salutation"),
        ("missing_field", "changes/0/contact/last_name"),
        ("missing_field", "changes/0/roles"),
    ]


def test_the_missing_field_message_takes_the_right_article():
    item = new()
    del item["contact"]["email"]
    del item["contact"]["salutation"]
    messages = [f.message for f in missing_field(ctx([item]))]
    assert messages == ["A new contact needs a salutation.", "A new contact needs an email."]


def test_update_may_not_blank_a_mandatory_field_but_may_clear_an_optional_one():
    changes = [
        {"op": "update_contact", "contact_id": 5, "fields": {"email": "", "phone": None}},
        {"op": "update_contact", "contact_id": 2, "fields": {}},
    ]
    assert found(missing_field(ctx(changes))) == [
        ("missing_field", "changes/0/fields/email"),
        ("missing_field", "changes/1/fields"),
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("email", "not-an-email"),
        ("email", "two@@acme.example"),
        ("email", "nodot@acme"),
        ("phone", "12345"),
        ("phone", "+44 20 7946 0001 9999 9999 99"),
        ("mobile", "call me"),
        ("salutation", "Sir"),
        ("first_name", "1234"),
    ],
)
def test_badly_formatted_details_are_invalid_and_the_message_omits_the_value(name, value):
    changes = [new(**{name: value})]
    findings = invalid_field(ctx(changes))
    assert found(findings) == [("invalid_field", f"changes/0/contact/{name}")]
    assert value not in findings[0].message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("email", "o'neil+roles@sub.acme.example"),
        ("phone", "+44 (20) 7946-0001"),
        ("mobile", "0151 496 0000"),
        ("salutation", "Dr"),
        ("first_name", "Zoë"),
    ],
)
def test_well_formatted_details_pass(name, value):
    assert (
        invalid_field(ctx([{"op": "update_contact", "contact_id": 5, "fields": {name: value}}]))
        == []
    )


def test_the_organization_chooses_which_details_a_new_contact_needs():
    strict = replace(ACME, required_fields=("first_name", "last_name", "email", "phone"))
    changes = [
        new("n1", salutation=None),
        {"op": "update_contact", "contact_id": 2, "fields": {"phone": None, "salutation": None}},
    ]
    assert found(missing_field(ctx(changes, organization=strict))) == [
        ("missing_field", "changes/0/contact/phone"),
        ("missing_field", "changes/1/fields/phone"),
    ]
    assert found(missing_field(ctx(changes))) == [
        ("missing_field", "changes/0/contact/salutation"),
        ("missing_field", "changes/1/fields/salutation"),
    ]
