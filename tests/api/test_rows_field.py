"""`service.fields.Rows` answers exactly what `List(Nested(schema))` answers, for any rows."""

from __future__ import annotations

import json
from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, post_dump

from service.contacts.schemas import RosterContactOut
from service.fields import Rows, _hooked
from service.tickets.models import TicketStatus
from service.tickets.read_models import BatchSummary, QueueItem
from service.tickets.schemas import QueueItemOut
from service.tickets.sla import ServiceLevel
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


class PlainQueue(Schema):
    items = fields.List(fields.Nested(QueueItemOut))


class LeanQueue(Schema):
    items = Rows(QueueItemOut)


moment = st.none() | st.datetimes(timezones=st.just(UTC))
service_level = st.builds(
    ServiceLevel,
    first_response_due=moment,
    resolution_due=moment,
    first_responded_at=moment,
    breached=st.lists(st.sampled_from(["first_response", "resolution"]), max_size=2),
    paused=st.booleans(),
)
number = st.integers(min_value=-5, max_value=10**12)
queue_item = st.builds(
    QueueItem,
    reference=st.text(max_size=8),
    status=st.sampled_from(list(TicketStatus)),
    organization=st.text(max_size=5),
    organization_name=st.text(max_size=5),
    acting_organization=st.none() | st.text(max_size=5),
    requester=st.text(max_size=5),
    assignee=st.none() | st.text(max_size=5),
    created_at=st.datetimes(timezones=st.just(UTC)),
    updated_at=st.datetimes(timezones=st.just(UTC)),
    url=st.text(max_size=5),
    approvals_required=number,
    approvals_given=number,
    batch=st.builds(BatchSummary, *[number] * 5),
    sla=st.none() | service_level,
)
# The same as dicts, some keys left out, some values of the wrong kind for marshmallow to handle.
queue_dict = st.fixed_dictionaries(
    {},
    optional={
        "reference": text,
        "status": st.none() | st.sampled_from(list(TicketStatus)),
        "assignee": text,
        "created_at": moment,
        "approvals_given": st.none() | number,
        "batch": st.none() | st.fixed_dictionaries({}, optional={"adds": number}),
        "sla": st.none()
        | st.fixed_dictionaries({}, optional={"paused": st.none() | st.booleans() | number}),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.none() | st.lists(queue_item | queue_dict, max_size=4))
def test_rows_of_read_models_dump_exactly_as_a_list_of_nested_schemas(items):
    """Dataclass rows with nested dataclasses, moments, enums and booleans, and dict rows."""
    plain, lean = PlainQueue().dump({"items": items}), LeanQueue().dump({"items": items})
    assert lean == plain
    assert json.dumps(lean) == json.dumps(plain)


def test_a_schema_dumped_before_still_counts_as_without_hooks():
    """marshmallow adds empty entries to a schema's hooks as it dumps; `Rows` keeps its own
    dump for such a schema, and leaves one with a real hook to marshmallow."""

    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def _upper(self, data, **kwargs):
            return {key: value.upper() for key, value in data.items()}

    QueueItemOut().dump({})
    assert not _hooked(QueueItemOut())
    assert _hooked(Hooked())

    class Holder(Schema):
        rows = Rows(Hooked)

    assert Holder().dump({"rows": [{"name": "ada"}]}) == {"rows": [{"name": "ADA"}]}
