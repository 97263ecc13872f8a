"""Arbitrary JSON at the submission endpoint: never a 5xx, never a partial request stored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from service.extensions import db
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.requests.schemas import OPERATIONS
from service.tickets.models import Ticket, TicketStatus

URL = "/api/orgs/acme/change-requests"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ops = st.sampled_from([*OPERATIONS, "other"])
keys = st.sampled_from(
    [
        "ref",
        "contact",
        "roles",
        "contact_id",
        "fields",
        "role",
        "organization",
        "email",
        "first_name",
        "x",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=30)
    | st.sampled_from(["technical", "cust_admin", "n1", "buyco", "\x00"])
)
contact_dicts = st.dictionaries(
    st.sampled_from(
        [
            "salutation",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "mobile",
            "nickname",
        ]
    ),
    scalars,
    max_size=7,
)
items = st.fixed_dictionaries(
    {"op": ops},
    optional={
        "ref": scalars,
        "contact": contact_dicts | scalars,
        "roles": st.lists(scalars, max_size=3),
        "contact_id": st.integers(min_value=-5, max_value=2**40) | scalars,
        "fields": contact_dicts,
        "role": scalars,
        "organization": scalars,
    },
) | st.dictionaries(keys, json_values, max_size=4)
near_valid = st.fixed_dictionaries(
    {
        "base_version": st.sampled_from([1, 0, -1, 2**40, "1", None, 1.5]),
        "changes": st.lists(items, max_size=6),
    },
    optional={"comment": scalars, "extra": json_values},
)


def _counts(factory):
    return (
        factory.scalar(select(func.count()).select_from(ChangeRequest)),
        factory.scalar(select(func.count()).select_from(ChangeRequestItem)),
        factory.scalar(select(func.count()).select_from(Ticket)),
    )


def test_arbitrary_json_never_gets_a_5xx_or_a_partial_request(client, factory):
    factory.demo()
    headers = factory.headers("admin@acme.example")

    @settings(
        max_examples=250,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=json_values | near_valid)
    def check(body):
        before = _counts(factory)
        for url in (URL, URL + "/validate"):
            response = client.post(
                url, data=json.dumps(body), headers=headers, content_type="application/json"
            )
            assert response.status_code < 500, (body, response.get_json())
            payload = response.get_json()
            assert isinstance(payload, dict)
            if response.status_code >= 400:
                assert {"code", "message", "errors"} <= set(payload)
        after = _counts(factory)
        if after != before:
            # Only a whole request may appear: one change request, its items, its ticket.
            assert after[0] == before[0] + 1 and after[2] == before[2] + 1
            assert after[1] - before[1] == len(body["changes"])
            _cancel_everything(factory)

    check()


def _cancel_everything(factory):
    with factory.app.app_context():
        db.session.execute(update(Ticket).values(status=TicketStatus.CANCELLED))
        db.session.commit()
