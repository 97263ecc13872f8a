"""A real threaded HTTP server around the test app, for tests that need concurrent clients."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from harness.http import serving

# The server is `harness.http.serving`, which the benchmarks start the same way.
live_server = serving


def request_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    status, _, raw = fetch(url, method=method, body=body, headers=headers)
    return status, json.loads(raw or b"null")


def fetch(url: str, *, method: str = "GET", body: Any = None, headers: Any = None):
    """(status, headers, raw body) of a real HTTP exchange; a hang fails after 60 s."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
