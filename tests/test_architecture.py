"""The layering rule, checked on the source: what may import what (README, "Architecture").

Layers, lowest first; a module imports only from its own layer or lower ones:

1. base: `service.config`, `service.vocabulary`, `service.models_base`, `service.errors`,
   `service.extensions`, `service.sql`, `service.fields`, `service.logs`, `service.metrics`,
   `service.telemetry`, `service.json_input`, `service.clock`, `service.business_hours`;
2. jobs: `service.jobs`, the hand-off to RQ under the domain;
3. rules: `service.validators.*`, pure: they import nothing of the project but themselves and
   `service.vocabulary`;
4. domain: every other module of `service/` except the pages and the factory;
5. pages: `service.web.*`;
6. the app: `service` (the factory) and `service.cli`;
7. the worker process: `workers.*`, which nothing under `service/` imports.

Besides: no circle among the project's modules, counting imports inside functions too; no
import inside a function between the project's own modules, except in the app factory (which
registers every part); and only the factory imports a `routes` module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("service", "workers")

BASE = {
    "service.config",
    "service.vocabulary",
    "service.models_base",
    "service.errors",
    "service.extensions",
    "service.sql",
    "service.fields",
    "service.logs",
    "service.metrics",
    "service.telemetry",
    "service.json_input",
    "service.clock",
    "service.business_hours",
}
# Modules whose function-level imports are allowed: the factory registers every part.
FACTORY = {"service"}


def _within(module: str, package: str) -> bool:
    """The package or one of its modules (`service.webhooks` is not within `service.web`)."""
    return module == package or module.startswith(package + ".")


def layer(module: str) -> int:
    if module in BASE:
        return 1
    if module == "service.jobs":
        return 2
    if _within(module, "service.validators"):
        return 3
    if _within(module, "service.web"):
        return 5
    if module in ("service", "service.cli"):
        return 6
    if _within(module, "workers"):
        return 7
    return 4


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for each import in the file."""
    tree = ast.parse(path.read_text())
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nested.update(id(child) for child in ast.walk(node) if child is not node)
    for node in ast.walk(tree):
        inside = id(node) in nested
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno, inside
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in known:
                    yield candidate, node.lineno, inside
                elif node.module in known:
                    yield node.module, node.lineno, inside


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    known = modules()
    return {name: list(imports(path, known)) for name, path in known.items()}


def offending_imports(wrong: Callable[[str, str, bool], bool]) -> list[str]:
    """`module:line imports target` for each import for which `wrong(module, target, inside a
    function)` holds."""
    return [
        f"{module}:{line} imports {target}{' inside a function' if inside else ''}"
        for module, edges in graph().items()
        for target, line, inside in edges
        if wrong(module, target, inside)
    ]


def test_nothing_under_service_imports_workers():
    found = offending_imports(
        lambda module, target, _: module.startswith("service") and target.startswith("workers")
    )
    assert found == []


def test_every_import_points_down_or_sideways():
    offenders = [
        f"{module}:{line} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, edges in graph().items()
        for target, line, _ in edges
        if layer(target) > layer(module)
    ]
    assert offenders == []


def test_rules_import_nothing_of_the_project_but_themselves_and_the_vocabulary():
    found = offending_imports(
        lambda module, target, _: (
            module.startswith("service.validators")
            and not (target.startswith("service.validators") or target == "service.vocabulary")
        )
    )
    assert found == []


def test_no_import_inside_a_function_between_our_own_modules():
    found = offending_imports(lambda module, _, inside: module not in FACTORY and inside)
    assert found == []


def test_only_the_factory_imports_routes():
    found = offending_imports(
        lambda module, target, _: module not in FACTORY and target.endswith(".routes")
    )
    assert found == []


def test_no_circle_among_our_modules():
    edges = {module: {target for target, _, _ in found} for module, found in graph().items()}
    circles = [sorted(component) for component in _strongly_connected(edges) if len(component) > 1]
    circles += [[m] for m, targets in edges.items() if m in targets]
    assert circles == []


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: the strongly connected components of the graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components
