"""`service.loading.loader(schema)` answers exactly what `schema.load` answers, or refers.

Random batch items, valid and not: every field of every item schema, unknown keys, values of
every kind (text with control or direction characters, full-width letters, lengths around the
limits, integers around the id range, booleans, None, lists, objects). Where the compiled load
answers, marshmallow answers the same, keys in the same order; where marshmallow refuses, the
compiled load refers (None), so that the client gets marshmallow's own error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from service.loading import loader
from service.models_base import MAX_ID
from service.requests.schemas import _COMPILED, ITEM_SCHEMAS, ContactFields
from service.vocabulary import Op

# Texts at the edges: empty, blank, full-width letters (which an email folds), control and
# direction characters, and lengths around every limit (20, 40, 50, 100, 254).
LENGTHS = [19, 20, 21, 39, 40, 41, 49, 50, 51, 99, 100, 101]
edges = st.sampled_from(
    ["", " ", "Ada", "\uff21\uff24\uff21@example.com", "a\u202eb", "a\nb", "a\tb", "a\x00b"]
) | st.builds(lambda n: "x" * n, st.sampled_from(LENGTHS))
texts = st.one_of(
    st.text(max_size=8),
    edges,
    st.builds(lambda n: "a@" + "b" * n, st.sampled_from([250, 251, 252, 253])),
)
numbers = st.one_of(
    st.sampled_from([0, 1, 2, MAX_ID, MAX_ID + 1, -1, True, False, 1.0]), st.integers()
)
scalars = st.one_of(st.none(), texts, numbers, st.booleans())
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
contact_keys = list(ContactFields().load_fields)


short = st.text(min_size=1, max_size=50).filter(str.isprintable)
ids = st.integers(min_value=1, max_value=MAX_ID)
details = st.fixed_dictionaries(
    {},
    optional={
        **{key: st.none() | st.text(max_size=20).filter(str.isprintable) for key in contact_keys},
        "assistant_id": st.none() | ids,
    },
)
VALID = {
    "ref": short,
    "role": short,
    "organization": short,
    "contact_id": ids,
    "contact": details,
    "fields": details,
    "roles": st.lists(short, max_size=3),
    "invite": st.booleans(),
}


@st.composite
def items(draw: Any) -> dict[str, Any]:
    """A valid item of a random operation, then up to two changes that may spoil it: a value
    of any kind, a detail of any kind, a key left out, an unknown key."""
    op = draw(st.sampled_from(list(Op)))
    keys = [key for key in ITEM_SCHEMAS[op]().load_fields if key != "op"]
    item: dict[str, Any] = {"op": op.value}
    for key in keys:
        if draw(st.booleans()) or ITEM_SCHEMAS[op]().load_fields[key].required:
            item[key] = draw(VALID[key])
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        change = draw(st.sampled_from(["value", "text", "detail", "drop", "unknown"]))
        key = draw(st.sampled_from(keys))
        if change == "value":
            item[key] = draw(values)
        elif change == "text":
            item[key] = draw(texts)
        elif change == "drop":
            item.pop(key, None)
        elif change == "unknown":
            item[draw(st.sampled_from(["extra", "nickname"]))] = draw(scalars)
        elif isinstance(item.get(key), dict):
            item[key][draw(st.sampled_from([*contact_keys, "nickname"]))] = draw(
                texts | scalars | st.lists(texts, max_size=2)
            )
        elif isinstance(item.get(key), list):
            item[key].append(draw(texts | scalars))
    return item


@settings(max_examples=1500, deadline=None)
@given(items())
def test_a_compiled_load_answers_as_marshmallow_or_refers(item):
    op = Op(item["op"])
    schema = ITEM_SCHEMAS[op]()
    compiled = _COMPILED[op]
    assert compiled is not None
    fast = compiled(item)
    try:
        expected = schema.load(item)
    except ValidationError:
        assert fast is None
        return
    if fast is not None:
        assert fast == expected
        assert json.dumps(fast) == json.dumps(expected)  # the same keys in the same order


@pytest.mark.parametrize(
    "item",
    [
        {"op": "add_contact", "ref": "n1", "contact": {"first_name": "Ada", "email": "A@x.io"}},
        {"op": "add_contact", "ref": "n1", "contact": {}, "roles": ["technical"], "invite": False},
        {"op": "update_contact", "contact_id": 7, "fields": {"job_title": None}},
        {"op": "grant_role", "contact_id": 7, "role": "technical"},
        {"op": "revoke_role", "ref": "n1", "role": "technical"},
        {"op": "delete_contact", "contact_id": MAX_ID},
        {"op": "grant_delegate", "organization": "partner"},
    ],
)
def test_plain_items_load_without_marshmallow(item):
    """The items a batch is made of take the compiled load."""
    op = Op(item["op"])
    assert _COMPILED[op](item) == ITEM_SCHEMAS[op]().load(item)


def test_a_schema_with_what_is_not_compiled_gets_no_loader():
    class WithEmail(Schema):
        email = fields.Email()

    class WithRegexp(Schema):
        code = fields.String(validate=validate.Regexp("^[a-z]+$"))

    assert loader(WithEmail()) is None
    assert loader(WithRegexp()) is None


EDGES = [
    "",
    " ",
    "Ada",
    "\uff21\uff24\uff21@example.com",
    "a\u202eb",
    "a\nb",
    "a\x00b",
    *("x" * n for n in (19, 20, 21, 39, 40, 41, 49, 50, 51, 62, 63, 64, 99, 100, 101, 254, 255)),
    None,
    0,
    1,
    MAX_ID,
    MAX_ID + 1,
    True,
    1.5,
    [],
    ["a"],
    {},
]
MINIMAL = {
    "ref": "n1",
    "role": "technical",
    "organization": "partner",
    "contact_id": 7,
    "contact": {},
    "fields": {},
}


def edge_cases() -> list[tuple[Op, str, Any]]:
    """Every field of every item schema (and of the contact details), at every edge value."""
    cases = []
    for op, schema in ITEM_SCHEMAS.items():
        for key in schema().load_fields:
            if key == "op":
                continue
            cases += [(op, key, value) for value in EDGES]
            if key in ("contact", "fields"):
                cases += [(op, f"{key}.{name}", value) for name in contact_keys for value in EDGES]
    return cases


def test_every_field_at_its_edges_loads_as_marshmallow_or_refers():
    for op, key, value in edge_cases():
        schema = ITEM_SCHEMAS[op]()
        item: dict[str, Any] = {"op": op.value}
        for name, field in schema.load_fields.items():
            if field.required and name != "op":
                item[name] = dict(MINIMAL[name]) if name in ("contact", "fields") else MINIMAL[name]
        if op in (Op.GRANT_ROLE, Op.REVOKE_ROLE) and "ref" not in key:
            item["contact_id"] = 7
        if "." in key:
            outer, name = key.split(".")
            item[outer] = {name: value}
        else:
            item[key] = value
        fast = _COMPILED[op](item)
        try:
            expected = schema.load(item)
        except ValidationError:
            assert fast is None, (op, key, value)
            continue
        assert fast is None or json.dumps(fast) == json.dumps(expected), (op, key, value)
