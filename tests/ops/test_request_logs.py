"""One JSON line per request, with its request id echoed to the client; ids only, never the text
of a search, the token of a link, or the message of an exception."""

from __future__ import annotations

import logging
import re

import pytest

from service.config import Config, ConfigError
from tests.ops.support import captured_logs
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

HEX_ID = re.compile(r"[0-9a-f]{32}")


def request_lines(captured) -> list[dict]:
    return [line for line in captured.lines() if line["logger"] == "rolegate.request"]


def test_a_request_id_is_made_when_none_comes_and_echoed(client):
    first = client.get("/livez").headers["X-Request-ID"]
    second = client.get("/livez").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "given", ["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "5e0c1d8a-2c4b-4a57-9e1f-3b7d"]
)
def test_a_request_id_that_looks_like_an_id_is_kept(client, given):
    assert client.get("/livez", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["Annabelle Greement", "annabelle@acme.example", "x" * 200, "1"])
def test_a_request_id_that_is_not_an_id_is_replaced(client, given):
    """What a client writes there could be anything, a name say: only ids reach the logs."""
    with captured_logs() as captured:
        echoed = client.get("/livez", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert HEX_ID.fullmatch(echoed) and echoed != given
    assert [line["request_id"] for line in captured.lines()] == [echoed]


def test_each_request_writes_one_json_line_with_its_id_route_status_and_user(client, factory):
    factory.demo()
    headers = factory.headers(REQUESTER)
    reference = raise_ticket(client, headers)
    with captured_logs() as captured:
        response = client.get(f"/api/tickets/{reference}", headers=headers)
    (line,) = request_lines(captured)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["level"] == "INFO"
    assert (line["method"], line["route"], line["status"]) == (
        "GET",
        "/api/tickets/<reference>",
        200,
    )
    assert line["url_ids"] == {"reference": reference}
    assert isinstance(line["user_id"], int)
    assert line["duration_ms"] >= 0
    assert line["time"]


def test_the_query_string_and_a_missing_things_name_are_never_written(client, factory):
    """A search holds what someone typed (a name); a 404's URL holds whatever was asked for."""
    factory.demo()
    staff = factory.headers(STAFF)
    with captured_logs() as captured:
        client.get("/api/tickets?q=Annabelle", headers=staff)
        client.get("/api/tickets/annabelle@acme.example", headers=staff)
        client.get("/tickets?q=Greement")
    assert "Annabelle" not in captured.text and "annabelle@" not in captured.text
    assert "Greement" not in captured.text
    assert [line["route"] for line in request_lines(captured)] == [
        "/api/tickets",
        "/api/tickets/<reference>",
        "/tickets",
    ]


def test_the_token_of_an_emailed_link_is_never_written(client):
    secret = "Zq3-link-secret-never-logged-0123456789"
    with captured_logs() as captured, captured_logs("text") as readable:
        client.get(f"/activate/{secret}")
        client.get(f"/reset/{secret}")
    assert secret not in captured.text
    assert secret not in readable.text
    assert {line["route"] for line in request_lines(captured)} == {
        "/activate/<token>",
        "/reset/<token>",
    }


def test_an_exception_is_written_as_its_type_and_frames_without_its_text():
    """The text of an error may quote a row (a unique violation names the duplicate email)."""
    with captured_logs() as captured:
        try:
            raise ValueError("Key (email)=(annabelle@acme.example) already exists.")
        except ValueError:
            try:
                raise RuntimeError("while saving Annabelle Greement") from None
            except RuntimeError:
                logging.getLogger("tests.ops").exception("saving contact %s failed", 12)
    (line,) = captured.lines()
    assert line["message"] == "saving contact 12 failed"
    assert line["exc_info"].startswith("builtins.RuntimeError")
    assert "test_request_logs.py" in line["exc_info"]
    assert "annabelle" not in captured.text.lower() and "Greement" not in captured.text


def test_text_format_keeps_readable_lines(client):
    with captured_logs("text") as captured:
        response = client.get("/livez")
    assert re.search(r" INFO rolegate\.request GET /livez 200$", captured.text.strip())
    assert response.headers["X-Request-ID"]


def test_an_unknown_log_format_is_refused_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Config(tmp_path)
