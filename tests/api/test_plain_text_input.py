"""Names and codes are plain text: no control or bidirectional characters, patterns matched whole,
emails NFKC-normalized, and a mixed-script email pointed out to staff without blocking.

The guards at the end hold for every input schema of the service, so a new field is covered.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from service import PROJECT_ROOT
from service.contacts.schemas import RoleIn, RolePatchIn
from service.fields import BIDI_CONTROLS, BIDI_MARKS, FullMatch, SafeText, text_problem
from service.requests.schemas import AddContactItem, ContactFields
from tests.tickets.support import STAFF, new_contact, raise_ticket
from tests.web.browser import ADMIN

HOSTILE = ["\u202e", "\u202b", "\u2066", "\u2069", "\u200f", "\u061c", "\x07", "\x1b", "\x00"]


@pytest.fixture
def admin(factory):
    factory.demo()
    return factory.headers(ADMIN)


def dry_run(client, headers, changes):
    version = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["version"]
    return client.post(
        "/api/orgs/acme/change-requests/validate",
        json={"base_version": version, "changes": changes},
        headers=headers,
    )


@pytest.mark.parametrize("char", HOSTILE)
def test_contact_names_with_control_or_bidi_characters_are_refused(client, admin, char):
    contact = new_contact()
    contact["contact"]["first_name"] = f"Nia{char}wen"
    response = dry_run(client, admin, [contact])
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["path"] == "changes/0/contact/first_name"
    assert char not in error["message"]


@pytest.mark.parametrize("char", HOSTILE)
def test_role_names_with_control_or_bidi_characters_are_refused(client, factory, char):
    factory.staff()
    staff = factory.headers("reviewer@vendor.example")
    created = client.post(
        "/api/roles", json={"code": "auditor", "name": f"Aud{char}itor"}, headers=staff
    )
    assert created.status_code == 422
    assert created.get_json()["errors"][0]["path"] == "name"
    patched = client.patch("/api/roles/technical", json={"name": f"Tech{char}"}, headers=staff)
    assert patched.status_code == 422


def test_role_codes_and_permissions_with_a_trailing_newline_are_refused(client, factory):
    factory.staff()
    staff = factory.headers("reviewer@vendor.example")
    for body, path in (
        ({"code": "auditor\n", "name": "Auditor"}, "code"),
        (
            {"code": "auditor", "name": "Auditor", "permissions": ["contacts:view\n"]},
            "permissions/0",
        ),
        ({"code": "auditor", "name": "Auditor", "emails": ["welcome\n"]}, "emails/0"),
    ):
        response = client.post("/api/roles", json=body, headers=staff)
        assert response.status_code == 422, body
        assert [e["path"] for e in response.get_json()["errors"]] == [path]
    fine = client.post(
        "/api/roles",
        json={"code": "auditor", "name": "Auditor", "permissions": ["contacts:view"]},
        headers=staff,
    )
    assert fine.status_code == 201, fine.get_json()


def test_emails_are_nfkc_normalized_so_look_alike_spellings_are_one_address(client, admin):
    contact = new_contact(email="\uff4e\uff49\uff41@acme.example")  # full-width "nia"
    projected = dry_run(client, admin, [contact]).get_json()["projected"]["contacts"]
    assert "nia@acme.example" in [c["email"] for c in projected]

    taken = new_contact(email="\uff21\uff24\uff2d\uff29\uff2e@acme.example")  # "ADMIN"
    findings = dry_run(client, admin, [taken]).get_json()["errors"]
    assert ("duplicate_email", "changes/0/contact/email") in [
        (f["code"], f["path"]) for f in findings
    ]

    signed_in = client.post(
        "/api/auth/token",
        json={"email": "\uff41dmin@acme.example", "password": "correct horse battery"},
    )
    assert signed_in.status_code == 200


def test_a_mixed_script_email_is_a_warning_staff_see_and_does_not_block(client, factory, admin):
    reference = raise_ticket(client, admin, [new_contact(email="p\u0430ypal@acme.example")])
    ticket = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert [(w["code"], w["path"]) for w in ticket["warnings"]] == [
        ("mixed_script_email", "changes/0/contact/email")
    ]


# -- The guards: every input schema of the service --------------------------------------------


def input_schemas() -> list[type[Schema]]:
    """Every schema of the service that loads input (input schemas refuse unknown fields)."""
    found, todo = [], list(Schema.__subclasses__())
    while todo:
        schema = todo.pop()
        todo.extend(schema.__subclasses__())
        if (
            schema.__module__.startswith("service.")
            and schema.Meta.__dict__.get("unknown", getattr(schema.Meta, "unknown", None)) == RAISE
        ):
            found.append(schema)
    assert len(found) >= 10
    return sorted(set(found), key=lambda s: s.__qualname__)


def string_fields() -> Iterator[tuple[str, fields.String]]:
    for schema in input_schemas():
        for name, field in schema._declared_fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.String):
                yield f"{schema.__qualname__}.{name}", inner


def validators_of(field: fields.Field) -> list[object]:
    return list(field.validators)


# Secrets are compared, never shown or stored as written, so any text is fine in them.
SECRETS = {"TokenIn.password", "ActivateIn.password", "ActivateIn.token"}
# Parsed into an enum by the field itself.
ENUMS = {"QueueQuery.status", "ViewQueryIn.status"}


def test_every_text_field_of_every_input_schema_is_plain_text_or_a_closed_vocabulary():
    loose = []
    for where, field in string_fields():
        closed = any(isinstance(v, FullMatch | validate.OneOf) for v in validators_of(field))
        if not (isinstance(field, SafeText) or closed or where in SECRETS | ENUMS):
            loose.append(where)
    assert loose == [], "use SafeText (service/fields.py) or a closed vocabulary"


def test_every_pattern_of_every_input_schema_matches_whole_values():
    patterns = [
        (where, v)
        for where, field in string_fields()
        for v in validators_of(field)
        if isinstance(v, validate.Regexp)
    ]
    assert len(patterns) >= 4
    for where, validator in patterns:
        assert isinstance(validator, FullMatch), where
        matches_whole(validator)()


def matches_whole(validator: validate.Regexp):
    @settings(max_examples=25, deadline=None)
    @given(st.from_regex(validator.regex, fullmatch=True))
    def check(value: str) -> None:
        assert validator(value) == value
        for tail in ("\n", " x", "\x00"):
            with pytest.raises(ValidationError):
                validator(value + tail)

    return check


def test_no_service_code_matches_a_pattern_from_the_start_only():
    # `pattern.match` with `$` accepts a trailing newline; service code uses `fullmatch`.
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in sorted((PROJECT_ROOT / "service").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(?<!full)\bmatch\(", line) and "fullmatch" not in line
    ]
    assert offenders == []


FORBIDDEN_EVERYWHERE = sorted(
    {chr(c) for c in range(0x20) if chr(c) not in "\n\r\t"} | {"\x7f"} | BIDI_CONTROLS - BIDI_MARKS
)
FORBIDDEN_IN_ONE_LINE = sorted(set(FORBIDDEN_EVERYWHERE) | {"\n", "\r", "\t"} | BIDI_MARKS)


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=10),
    after=st.text(max_size=10),
    one_line=st.sampled_from(FORBIDDEN_IN_ONE_LINE),
    anywhere=st.sampled_from(FORBIDDEN_EVERYWHERE),
)
def test_safe_text_refuses_control_and_bidi_characters_wherever_they_are(
    before, after, one_line, anywhere
):
    with pytest.raises(ValidationError):
        SafeText().deserialize(before + one_line + after)
    with pytest.raises(ValidationError):
        SafeText(multiline=True).deserialize(before + anywhere + after)


def test_prose_keeps_line_breaks_and_direction_marks():
    text = "First line\nSecond \u200fline\twith a tab"
    assert SafeText(multiline=True).deserialize(text) == text


def test_the_names_pages_show_come_only_from_plain_text_fields():
    # Every place a name comes in: contact details, role names, the batch's refs.
    for schema, names in (
        (ContactFields, ["salutation", "first_name", "last_name", "job_title", "email"]),
        (RoleIn, ["name", "description"]),
        (RolePatchIn, ["name", "description"]),
        (AddContactItem, ["ref"]),
    ):
        for name in names:
            field = schema._declared_fields[name]
            assert isinstance(field, SafeText) and not field.multiline, (schema, name)


def refused_character(text: str, *, multiline: bool) -> bool:
    """The rule of `text_problem`, character by character (without its fast path)."""
    allowed = {"\n", "\r", "\t"} | BIDI_MARKS if multiline else set()
    return any(
        char not in allowed
        and (unicodedata.category(char) in {"Cc", "Cs"} or char in BIDI_CONTROLS)
        for char in text
    )


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(max_size=20)
    | st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zs", "L"]), max_size=8)
)
def test_text_problem_refuses_exactly_what_the_character_rule_refuses(text):
    for multiline in (False, True):
        found = text_problem(text, multiline=multiline)
        assert (found is not None) == refused_character(text, multiline=multiline), (
            text,
            multiline,
        )
