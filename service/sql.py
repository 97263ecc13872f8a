"""SQL helpers for statements whose size follows the batch: a thousand items, one statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session


def among(
    session: Session,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Iterable[Any],
) -> ColumnElement[bool]:
    """`column IN (values)`, for lists as long as a batch.

    On PostgreSQL it is `column = ANY(:values)`, one array parameter however many values: the
    statement text stays the same from batch to batch, so the driver parses it once and caches
    it, instead of parsing a new text with a placeholder per value (which costs more than the
    query itself for a thousand ids). SQLite has no arrays and gets the expanding `IN`.
    The column must have a type (give SQL functions one: `func.lower(col, type_=String)`).
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        if column.type._isnull:
            raise TypeError(f"among() needs a typed column, not {column!r}")
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert many rows (each with the same keys) in a fixed number of statements; with
    `returning_ids`, the ids of the new rows in the order of `rows`.

    On PostgreSQL the rows travel as one array per column into `INSERT … SELECT FROM unnest(…)`:
    a short statement text the driver parses once, where a multi-row `VALUES` (what
    `insert().values()` and SQLAlchemy's insertmanyvalues send) has a placeholder per value and
    costs more to build and parse than to run. The ids are drawn from the table's sequence first
    (`nextval` over `generate_series`), so their order is certain without a RETURNING sort.
    Elsewhere (SQLite), a Core executemany.
    """
    if not rows:
        return []
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("insert_rows() needs the same keys in every row")
    if session.get_bind().dialect.name != "postgresql":
        if not returning_ids:
            session.execute(insert(table), list(rows))
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, list(rows)).scalars())
    ids: list[int] = []
    if returning_ids:
        sequence = func.pg_get_serial_sequence(table.name, "id")
        ids = list(
            session.scalars(
                select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
            )
        )
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)]
    names = list(rows[0])
    arrays = [
        bindparam(None, [row[name] for row in rows], type_=ARRAY(table.c[name].type))
        for name in names
    ]
    source = func.unnest(*arrays).table_valued(*names).render_derived()
    session.execute(insert(table).from_select(names, select(*(source.c[name] for name in names))))
    return ids
