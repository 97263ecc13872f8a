"""Emails stay unique among active contacts and user accounts."""

from __future__ import annotations

from service.validators.emails import duplicate_email, mixed_script_email
from tests.validators.context import ctx, found, new


def test_new_contact_with_an_active_contacts_email_is_refused_case_insensitively():
    findings = duplicate_email(ctx([new(email="EVE@acme.example")]))
    assert found(findings) == [("duplicate_email", "changes/0/contact/email")]
    assert "eve" not in findings[0].message.lower()


def test_two_new_contacts_with_one_email_flag_the_second():
    changes = [new("n1", email="x@acme.example"), new("n2", email="X@acme.example")]
    findings = duplicate_email(ctx(changes))
    assert found(findings) == [("duplicate_email", "changes/1/contact/email")]
    # The email is repeated in the batch: no active contact of the roster has it.
    assert "repeated in this batch (item 1)" in findings[0].message
    assert "another active contact" not in findings[0].message.lower()


def test_an_email_of_the_roster_is_named_as_such_even_when_the_batch_repeats_it():
    changes = [new("n1", email="eve@acme.example"), new("n2", email="EVE@acme.example")]
    findings = duplicate_email(ctx(changes))
    assert found(findings) == [
        ("duplicate_email", "changes/0/contact/email"),
        ("duplicate_email", "changes/1/contact/email"),
    ]
    assert all("Another active contact" in f.message for f in findings)


def test_update_to_an_email_in_use_is_refused():
    changes = [{"op": "update_contact", "contact_id": 5, "fields": {"email": "bo@acme.example"}}]
    assert found(duplicate_email(ctx(changes))) == [("duplicate_email", "changes/0/fields/email")]


def test_email_of_a_deactivated_contact_may_be_reused_until_it_is_reactivated():
    assert duplicate_email(ctx([new(email="dee@acme.example")])) == []
    changes = [new(email="dee@acme.example"), {"op": "reactivate_contact", "contact_id": 4}]
    assert found(duplicate_email(ctx(changes))) == [("duplicate_email", "changes/1")]


def test_email_freed_by_a_deletion_in_the_same_batch_may_be_reused():
    changes = [{"op": "delete_contact", "contact_id": 5}, new(email="eve@acme.example")]
    assert duplicate_email(ctx(changes)) == []


def test_swapping_emails_between_two_contacts_is_fine():
    changes = [
        {"op": "update_contact", "contact_id": 5, "fields": {"email": "bo@acme.example"}},
        {"op": "update_contact", "contact_id": 2, "fields": {"email": "eve@acme.example"}},
    ]
    assert duplicate_email(ctx(changes)) == []


def test_an_email_with_an_account_elsewhere_is_no_finding():
    # The rules never see accounts: an address that has one joins it when the batch is applied.
    changes = [
        new("n1", email="someone@elsewhere.example"),
        {"op": "update_contact", "contact_id": 5, "fields": {"email": "EVE@acme.example"}},
    ]
    assert duplicate_email(ctx(changes)) == []


def test_an_email_whose_local_part_mixes_scripts_is_a_warning_that_never_blocks():
    # "paypal" with a Cyrillic a (U+0430): it reads as the Latin word.
    changes = [
        new("n1", email="p\u0430ypal@acme.example"),
        {"op": "update_contact", "contact_id": 5, "fields": {"email": "\u0435ve@acme.example"}},
    ]
    findings = mixed_script_email(ctx(changes))
    assert found(findings) == [
        ("mixed_script_email", "changes/0/contact/email"),
        ("mixed_script_email", "changes/1/fields/email"),
    ]
    assert {f.severity for f in findings} == {"warning"}
    assert "paypal" not in findings[0].message and "\u0430" not in findings[0].message


def test_single_script_and_customary_mixes_are_not_flagged():
    for email in (
        "ada@acme.example",
        "jos\u00e9.o'neil-2@acme.example",  # Latin with an accent, digits and punctuation
        "\u0430\u043d\u043d\u0430@acme.example",  # all Cyrillic
        "\u03b1\u03bb\u03b5\u03be@acme.example",  # all Greek
        "tanaka\u7530\u4e2d\u3055\u3093@acme.example",  # Latin, Han and Hiragana: Japanese
        "kim\u91d1\ud55c@acme.example",  # Latin, Han and Hangul: Korean
        "ada@\u0430cme.example",  # only the local part is read
    ):
        assert mixed_script_email(ctx([new(email=email)])) == [], email
