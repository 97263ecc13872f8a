"""SQL helpers for statements whose size follows the batch: a thousand items, one statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.selectable import TableValuedAlias


def column_in(
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
    if _postgresql(session):
        if column.type._isnull:
            raise TypeError(f"column_in() needs a typed column, not {column!r}")
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def update_in(
    session: Session,
    column: QueryableAttribute[Any],
    values: Sequence[Any],
    *where: ColumnElement[bool],
    **changes: Any,
) -> None:
    """Set `changes` on the rows of `column`'s model whose `column` is one of `values` (`column_in`)
    and that match `where`: one statement, none at all without values. A bulk update: objects the
    session holds are not refreshed."""
    if not values:
        return
    session.execute(
        update(column.class_)
        .where(column_in(session, column, values), *where)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert many rows (each with the same keys) in one statement; with `returning_ids`, the
    ids of the new rows in the order of `rows`.

    On PostgreSQL the rows travel as one array per column into `INSERT … SELECT FROM unnest(…)`:
    a short statement text the driver parses once, where a multi-row `VALUES` (what
    `insert().values()` and SQLAlchemy's insertmanyvalues send) has a placeholder per value and
    costs more to build and parse than to run. Elsewhere (SQLite), a Core executemany.
    """
    if not rows:
        return []
    _same_keys(rows)
    if not _postgresql(session):
        if not returning_ids:
            session.execute(insert(table), list(rows))
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, list(rows)).scalars())
    names = list(rows[0])
    source = _unnest(table, rows, names, with_ordinality=returning_ids)
    columns = select(*(source.c[name] for name in names))
    if not returning_ids:
        session.execute(insert(table).from_select(names, columns))
        return []
    # The sequence hands out ids in the order the rows are inserted, and ORDER BY fixes that
    # order: sorted, the returned ids follow `rows` (SQLAlchemy's own insertmanyvalues relies
    # on the same guarantee).
    statement = (
        insert(table)
        .from_select(names, columns.order_by(source.c.ordinality))
        .returning(table.c.id)
    )
    return sorted(session.scalars(statement))


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    match: Sequence[str],
    also: Mapping[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> None:
    """For each row, update the rows of `table` whose `match` columns equal the row's: set its
    other keys, and `also` (the same SQL for every row, e.g. `version + 1`), where `where` holds.

    On PostgreSQL one `UPDATE … FROM unnest(…)`; elsewhere a Core executemany.
    """
    if not rows:
        return
    _same_keys(rows)
    names = list(rows[0])
    sets = [name for name in names if name not in match]
    if _postgresql(session):
        source = _unnest(table, rows, names)
        session.execute(
            update(table)
            .where(*(table.c[name] == source.c[name] for name in match), *where)
            .values({**{name: source.c[name] for name in sets}, **(also or {})})
        )
        return
    session.execute(
        update(table)
        .where(*(table.c[name] == bindparam(f"match_{name}") for name in match), *where)
        .values({**{name: bindparam(f"set_{name}") for name in sets}, **(also or {})}),
        [
            {
                **{f"match_{name}": row[name] for name in match},
                **{f"set_{name}": row[name] for name in sets},
            }
            for row in rows
        ],
    )


def delete_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete the rows of `table` whose columns equal one of `rows` (on every key it has).

    On PostgreSQL one `DELETE … USING unnest(…)`; elsewhere a Core executemany.
    """
    if not rows:
        return
    _same_keys(rows)
    names = list(rows[0])
    if _postgresql(session):
        source = _unnest(table, rows, names)
        session.execute(delete(table).where(*(table.c[name] == source.c[name] for name in names)))
        return
    session.execute(
        delete(table).where(*(table.c[name] == bindparam(f"match_{name}") for name in names)),
        [{f"match_{name}": row[name] for name in names} for row in rows],
    )


def joined_text(dialect: str, column: ColumnExpressionArgument[Any]) -> ColumnElement[str]:
    """An aggregate in the SQL of `dialect` (its name): the group's values of `column` as one
    text, joined by commas, in no particular order (the `','` is a literal, so that a
    statement's text stays the same)."""
    comma: ColumnElement[str] = literal_column("','")
    if dialect == "postgresql":
        return func.string_agg(column, comma, type_=String)
    return func.group_concat(column, comma, type_=String)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _same_keys(rows: Sequence[Mapping[str, Any]]) -> None:
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("every row needs the same keys")


def _unnest(
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    names: list[str],
    *,
    with_ordinality: bool = False,
) -> TableValuedAlias:
    """The rows as a derived table `unnest(:col1, :col2, …) AS anon(col1, col2, …)`: one array
    parameter per column, typed after the table's column; with `with_ordinality`, a column
    `ordinality` numbers them from 1 in the order of `rows`."""
    arrays = [
        bindparam(None, [row[name] for row in rows], type_=ARRAY(table.c[name].type))
        for name in names
    ]
    unnest = func.unnest(*arrays)
    if with_ordinality:
        return unnest.table_valued(*names, with_ordinality="ordinality").render_derived()
    return unnest.table_valued(*names).render_derived()
