"""`service.fields.Rows` answers exactly what `List(Nested(schema))` answers, for any rows."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

from service.contacts.schemas import RosterContactOut
from service.fields import Rows
from service.vocabulary import ContactStatus


class Plain(Schema):
    contacts = fields.List(fields.Nested(RosterContactOut))


class Lean(Schema):
    contacts = Rows(RosterContactOut)


text = st.none() | st.text(max_size=5) | st.sampled_from(list(ContactStatus)) | st.integers()
requested = st.fixed_dictionaries(
    {},
    optional={
        "roles": st.lists(st.text(max_size=3), max_size=2),
        "status": text,
        "delete": st.booleans(),
        "fields": st.dictionaries(st.text(max_size=3), st.none() | st.text(max_size=3)),
    },
)
row = st.fixed_dictionaries(
    {},
    optional={
        **{name: text for name in RosterContactOut().fields if name not in ("roles", "requested")},
        "id": st.none() | st.integers(),
        "assistant_id": st.none() | st.integers(),
        "roles": st.none() | st.lists(text, max_size=3),
        "requested": requested,
        "unlisted": text,
    },
)


@settings(max_examples=200, deadline=None)
@given(st.none() | st.lists(row, max_size=4))
def test_rows_dump_exactly_as_a_list_of_nested_schemas(rows):
    plain, lean = Plain().dump({"contacts": rows}), Lean().dump({"contacts": rows})
    assert lean == plain
    assert json.dumps(lean) == json.dumps(plain)  # the same keys in the same order
