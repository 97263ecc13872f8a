"""On request: the statements of one apply with their time, their plans, its profile."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

from bench.apply.api import Bench
from bench.apply.in_process import timed_apply
from bench.apply.roster import load_roster, mixed_batch


@contextmanager
def statement_times(engine: Engine, into: dict[str, list[float]]) -> Iterator[None]:
    """Wall time of every statement the engine sends, grouped by its text."""
    started: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        key = " ".join(statement.split())[:160] + (" [executemany]" if executemany else "")
        into.setdefault(key, []).append(time.perf_counter() - started.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def print_statements(bench: Bench, size: int) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    times: dict[str, list[float]] = {}
    timing = timed_apply(bench, ticket_id, observe=statement_times(bench.engine, times))
    in_sql = sum(sum(v) for v in times.values())
    print()
    print(
        f"Statements of one {size}-item mixed apply: {timing.statements}, "
        f"{in_sql * 1000:.1f} ms in the database driver of {timing.total_s * 1000:.1f} ms."
    )
    print(f"{'ms':>8} {'count':>6}  statement")
    for key, values in sorted(times.items(), key=lambda kv: -sum(kv[1]))[:25]:
        print(f"{sum(values) * 1000:>8.1f} {len(values):>6}  {key}")


@contextmanager
def explained(engine: Engine, into: list[tuple[float, str, str]]) -> Iterator[None]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, run first in a savepoint rolled back."""

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            return
        params = parameters[0] if executemany and isinstance(parameters, list) else parameters
        raw = cursor.connection
        raw.execute("SAVEPOINT bench_explain")
        try:
            plan = [
                row[0] for row in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            ]
        finally:
            raw.execute("ROLLBACK TO SAVEPOINT bench_explain")
        took = next(
            (float(line.split()[2]) for line in plan if line.startswith("Execution Time")), 0.0
        )
        shown = " ".join(statement.split())[:300] + (" [executemany]" if executemany else "")
        into.append((took, shown, "\n".join(plan)))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def print_explain(bench: Bench, size: int, slowest: int = 8) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    plans: list[tuple[float, str, str]] = []
    timed_apply(bench, ticket_id, observe=explained(bench.engine, plans))
    print()
    print(
        f"The {slowest} slowest of {len(plans)} statements of one {size}-item mixed apply, by "
        "server execution time (an executemany is explained with its first row); all of them "
        f"took {sum(p[0] for p in plans):.1f} ms on the server:"
    )
    for took, statement, plan in sorted(plans, key=lambda p: -p[0])[:slowest]:
        print()
        print(f"{took:.1f} ms  {statement}")
        print(plan)


def print_profile(bench: Bench, size: int) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    profiler = cProfile.Profile()

    @contextmanager
    def profiled() -> Iterator[None]:
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()

    timed_apply(bench, ticket_id, observe=profiled())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print()
    print(f"Profile of one {size}-item mixed apply (cumulative):")
    print(out.getvalue())
