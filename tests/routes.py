"""The app's routes as its URL map lists them, for the tests that walk every one: the route x
actor matrix (tests/test_route_matrix.py), the protective headers
(tests/api/test_response_headers.py) and axe on every page (tests/web/test_web_accessibility.py).
A route added to the app is walked by each of them without anyone listing it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Flask
from werkzeug.routing import Rule

# A path parameter as a rule writes it: `<name>` or `<converter:name>`.
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def routes(app: Flask, method: str | None = None) -> list[Rule]:
    """Every rule of the app in the URL map's order; only those answering `method` if given."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method is None or method in (rule.methods or set())
    ]


def route_methods(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) the app answers, HEAD and OPTIONS aside, in the URL map's order."""
    return [
        (method, rule.rule)
        for rule in routes(app)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def parameters(rule: str) -> set[str]:
    """The names of a rule's path parameters."""
    return set(PARAMETER.findall(rule))


def fill(rule: str, values: Mapping[str, object]) -> str:
    """The path of `rule` with each parameter replaced by its value in `values`."""
    return PARAMETER.sub(lambda match: str(values[match.group(1)]), rule)
