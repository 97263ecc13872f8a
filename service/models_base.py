"""Column types and helpers shared by every domain's models."""

from __future__ import annotations

import dataclasses
import enum
import re
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, Enum, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from service import clock

# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# The largest value of an `integer` id column on PostgreSQL: a larger one in a query is an error
# of the database, not an id that does not exist.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(text: str) -> int | None:
    """The id that the text writes in ASCII digits, or None when it is not one that can exist.

    `str.isdigit` and `int` accept other digits (`²`, Arabic-Indic, full-width) and any size.
    """
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def utcnow() -> datetime:
    """The service's "now": the real time moved by `CLOCK_OFFSET` (service/clock.py)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on PostgreSQL and on SQLite (which stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as docs/api.md writes times."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def str_enum(enum_class: type[enum.StrEnum], name: str, length: int = 20) -> Enum:
    """A status column stored as its text value, checked by a CHECK constraint on both databases."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [member.value for member in members],
        length=length,
    )


def partial_index(name: str, *columns: Any, where: str, unique: bool = False) -> Index:
    """An index of the rows that match `where` (SQL), the same on PostgreSQL and SQLite."""
    return Index(
        name, *columns, unique=unique, postgresql_where=text(where), sqlite_where=text(where)
    )


ReadModel = TypeVar("ReadModel")
Item = TypeVar("Item")


@dataclasses.dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a list (`page` from 1), and how many items all its pages hold."""

    items: list[Item]
    page: int
    per_page: int
    total: int


def read_model(cls: type[ReadModel], source: object, **given: Any) -> ReadModel:
    """A read model (a dataclass) of `source`, a model or a row: each field without a default is
    the attribute of the same name, unless `given`; a field with a default is taken only when
    given (a model's `secret` never slips into a view's optional one). A field the source lacks
    is an error, never a silent None."""
    values = dict(given)
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        required = field.default is dataclasses.MISSING
        if field.name not in values and required and field.default_factory is dataclasses.MISSING:
            values[field.name] = getattr(source, field.name)
    return cls(**values)
