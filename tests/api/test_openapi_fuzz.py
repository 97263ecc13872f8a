"""No input gives a 5xx: Schemathesis generates requests for every operation of
`/api/openapi.json`, valid and invalid ones, and every answer must be below 500 and, when it is
an error, carry the contract's body (`{code, message, errors[{path, code, message}]}`); and
every answer must be what the operation documents for its status (`validate_response`).

It calls the app in-process (WSGI), signed in as staff and as a customer admin so that it gets
past 401, with path parameters that name real objects half of the time. The number of examples
is bounded per operation and Hypothesis does not shrink (that would replay database work), so a
pass takes about a minute; a failure is reported with the operation and the request.
Set FUZZ_EXAMPLES to run more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import select

from service.contacts.models import Contact
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# Operations that end the calling session: each example signs in afresh for them.
ENDS_THE_SESSION = {"DELETE /api/auth/token", "POST /api/me/sign-out-everywhere"}


def problems_with(response: Any) -> str | None:
    """Why this answer breaks the contract, or None."""
    if response.status_code >= 500:
        return f"answered {response.status_code}"
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"answered {response.status_code} without a JSON body"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
        and isinstance(body.get("errors"), list)
        and all(
            isinstance(e, dict) and {"path", "code", "message"} <= set(e) for e in body["errors"]
        )
    ):
        return f"answered {response.status_code} with a body out of contract: {body!r:.300}"
    return None


def undocumented(case: Any, response: Any) -> str | None:
    """How the answer differs from what the OpenAPI document says of it, or None."""
    try:
        case.operation.validate_response(response)
    except AssertionError as failure:
        return f"answered {response.status_code} out of the OpenAPI document: {failure!s:.300}"
    return None


@pytest.fixture
def known(app, factory, monkeypatch) -> dict[str, Any]:
    """Real objects for path parameters: acme, an open ticket, a contact, a role."""
    factory.demo()
    # The reset endpoint's constant answer time would only slow the fuzz down.
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0.0)
    reference = raise_ticket(factory.client, factory.headers(REQUESTER))
    contact_id = factory.scalar(select(Contact.id).where(Contact.email == REQUESTER))
    return {"slug": "acme", "reference": reference, "contact_id": contact_id, "code": "technical"}


@pytest.mark.parametrize("who", [STAFF, REQUESTER])
def test_no_generated_request_gives_a_server_error_or_a_body_out_of_contract(
    app, factory, known, who
):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    token = factory.token(who)
    failures: list[str] = []
    # The operations that end the caller's sessions come last: they would sign the rest out.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: operation.label in ENDS_THE_SESSION,
    )
    assert len(operations) >= 25

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {name: value for name, value in known.items() if name in names}
        strategies = [
            operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for fixed in ([real, None] if real else [None])
        ]

        failures += fuzz(
            operation.label, st.one_of(strategies), len(strategies), factory, who, token
        )

    assert failures == [], "\n".join(failures[:20])


def fuzz(
    label: str, cases: st.SearchStrategy, kinds: int, factory, who: str, token: str
) -> list[str]:
    """Call the app with generated cases of one operation; what went wrong, as readable lines."""
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES * kinds,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call(case: Any) -> None:
        bearer = factory.token(who) if label in ENDS_THE_SESSION else token
        response = case.call(headers={"Authorization": f"Bearer {bearer}"})
        problem = problems_with(response) or undocumented(case, response)
        if problem:
            failures.append(
                f"{label} {problem}: path={case.path_parameters} query={case.query} "
                f"content-type={case.media_type} body={case.body!r:.300}"
            )

    call()
    return failures
