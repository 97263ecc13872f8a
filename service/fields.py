"""Marshmallow fields shared by the schemas: strict integers, plain text, emails, and moments;
and the paging every list of pages shares (`PageQuery`, `page_out`)."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate

from service.models_base import isoformat


class CodedMessage(str):
    """An error message that carries its stable code through marshmallow and webargs."""

    code: str

    def __new__(cls, message: str, code: str) -> CodedMessage:
        instance = super().__new__(cls, message)
        instance.code = code
        return instance


class StrictInt(fields.Integer):
    """A JSON integer: no floats, no numeric strings, no booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# Characters that reorder the text around them when it is shown (embeddings, overrides,
# isolates, and the invisible direction marks): in a name they can make one string look like
# another (`Trojan Source`, spoofed names in a list or an email).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# In prose (comments, reasons) a direction mark may be needed between words of two scripts;
# the controls that reorder whole runs never are.
BIDI_MARKS = frozenset("\u061c\u200e\u200f")


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why the text cannot be stored and shown as written, or None.

    Refused: text that is not valid Unicode, control characters (line breaks and tabs only
    in multi-line text) and bidirectional controls (direction marks only in multi-line text).
    """
    if text.isprintable():
        # No control, format (every bidirectional control is one) or surrogate character: the
        # common case, checked in one pass of C instead of a category look-up per character.
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Not valid Unicode text."
    allowed = {"\n", "\r", "\t"} | BIDI_MARKS if multiline else set()
    for char in text:
        if char in allowed:
            continue
        if unicodedata.category(char) in {"Cc", "Cs"}:
            return "Control characters are not allowed here."
        if char in BIDI_CONTROLS:
            return "Characters that change the direction of text are not allowed here."
    return None


class SafeText(fields.String):
    """Plain text that the databases store and the pages show as written (`text_problem`).

    `multiline=True` allows line breaks, tabs and direction marks (comments, reasons);
    single-line fields (names, codes, emails, references) allow none of them.
    """

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline)
        if problem:
            raise ValidationError(problem)
        return text


def normalize_email(email: str) -> str:
    """An email address as the service stores and compares it: NFKC, without outer blanks.

    NFKC folds the look-alike forms of the same letters (full-width letters such as U+FF21,
    ligatures, superscript digits) into one, so that two spellings of one address are one address.
    """
    return unicodedata.normalize("NFKC", email).strip()


class EmailText(SafeText):
    """An email address: single-line safe text, NFKC-normalized (`normalize_email`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalize_email(super()._deserialize(value, attr, data, **kwargs))


class FullMatch(validate.Regexp):
    """A pattern the whole value must match: `Regexp` matches from the start only, and its `$`
    also matches before a trailing newline, so `"manage\\n"` would pass `^manage$`.

    The pattern keeps `^…$`, which is also how the OpenAPI document shows it to clients.
    """

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class StrictBool(fields.Boolean):
    """A JSON boolean: `true` or `false`, not 1, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class UtcDateTime(fields.DateTime):
    """A moment as the API writes it: ISO 8601 in UTC with a `Z` (`models_base.isoformat`).

    The OpenAPI document shows it as a `date-time` string; read models hold `datetime` values.
    """

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return isoformat(value)


class RoleCounts(fields.Dict):
    """How many active contacts hold each role (by code); `description` says which."""

    def __init__(self, description: str, **kwargs: Any) -> None:
        super().__init__(
            keys=fields.String(),
            values=fields.Integer(),
            metadata={"description": description},
            **kwargs,
        )


class PageQuery(Schema):
    """The query of a list read a page at a time: `page` from 1, up to 100 items a page. Any
    parameter a list does not know is refused (`unknown_field`)."""

    class Meta:
        unknown = RAISE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


def page_out(name: str, item: type[Schema], **more: fields.Field) -> type[Schema]:
    """The schema, named `name`, of one page of `item`s: `items`, `page`, `per_page` and
    `total` (the items of all pages), and `more`."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            **more,
        },
        name=name,
    )


# How a flat field of a schema dumps a value: (output key, attribute, field, its fast dump or None
# where marshmallow's own `serialize` must run).
Plan = list[tuple[str, str, fields.Field, Callable[[Any], Any] | None]]


class Rows(fields.List):
    """A list of rows dumped by a schema: exactly what `List(Nested(schema))` answers, and
    documented as that, without marshmallow's per-value machinery for the schema's text,
    integer, boolean, moment and list-of-text fields and its nested schemas made of those (a
    roster's or a queue's page dumps thousands of values). Rows are dicts or objects read by
    attribute (the read models' dataclasses); any other field or row goes through marshmallow."""

    def __init__(self, schema: type[Schema], **kwargs: Any) -> None:
        super().__init__(fields.Nested(schema), **kwargs)
        self._plan: Plan | None = None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        assert isinstance(self.inner, fields.Nested)
        if _hooked(self.inner.schema) or not all(_plain(row) for row in value):
            return super()._serialize(value, attr, obj, **kwargs)
        if self._plan is None:
            self._plan = _plan(self.inner.schema)
        return [_dump(row, self._plan) for row in value]


def _hooked(schema: Schema) -> bool:
    """Whether the schema has `pre_dump`, `post_dump` or other hooks. (`_hooks` is a
    defaultdict: marshmallow adds empty entries to it as it dumps.)"""
    return any(schema._hooks.values())


def _plain(row: Any) -> bool:
    """Whether `Rows` reads this row itself: a dict, or an object without item access."""
    return isinstance(row, dict) or not hasattr(row, "__getitem__")


def _dump(row: Any, plan: Plan) -> dict[str, Any]:
    """`row` as the plan's schema dumps it; a key whose value the row lacks is left out."""
    out: dict[str, Any] = {}
    by_key = isinstance(row, dict)
    for key, source, field, fast in plan:
        if fast is None:
            result = field.serialize(source, row)
            if result is not missing:
                out[key] = result
        elif by_key:
            if source in row:
                out[key] = fast(row[source])
        else:
            value = getattr(row, source, missing)
            if value is not missing:
                out[key] = fast(value)
    return out


def _plan(schema: Schema) -> Plan:
    """(output key, attribute, field, its fast dump or None) for each field of a schema without
    hooks."""
    plan = []
    for name, field in schema.dump_fields.items():
        source = field.attribute or name
        fast = _fast(field) if field.dump_default is missing and "." not in source else None
        plan.append((field.data_key or name, source, field, fast))
    return plan


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _texts(value: Any) -> list[str | None] | None:
    return None if value is None else [_text(item) for item in value]


def _fast(field: fields.Field) -> Callable[[Any], Any] | None:
    """The dump of a field whose marshmallow dump is a plain conversion; else None."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return _integer
    if kind is fields.List and type(field.inner) is fields.String:  # type: ignore[attr-defined]
        return _texts
    if kind is UtcDateTime:
        return isoformat
    if kind is fields.Boolean:
        return functools.partial(_boolean, field)
    if kind is fields.Enum and type(field.field) is fields.Raw:  # type: ignore[attr-defined]
        return functools.partial(_enum_value, field)
    if kind is fields.Nested and isinstance(field, fields.Nested) and _nested_plainly(field):
        return functools.partial(_nested, field, _plan(field.schema))
    return None


def _boolean(field: fields.Field, value: Any) -> Any:
    if value is None or value is True or value is False:
        return value
    return field._serialize(value, None, None)


def _enum_value(field: fields.Field, value: Any) -> Any:
    """An `Enum(by_value=True)` field's dump: the member's value as it is."""
    if value is None:
        return None
    if isinstance(value, field.enum):  # type: ignore[attr-defined]
        return value.value
    return field._serialize(value, None, None)


def _nested_plainly(field: fields.Nested) -> bool:
    """Whether a nested schema dumps one value with nothing but its own fields."""
    return (
        not field.many
        and field.only is None
        and not field.exclude
        and isinstance(field.nested, type)
        and not field.schema.many
        and not _hooked(field.schema)
    )


def _nested(field: fields.Nested, plan: Plan, value: Any) -> Any:
    if value is None:
        return None
    if not _plain(value):
        return field._serialize(value, None, None)
    return _dump(value, plan)
