"""Marshmallow fields shared by the schemas: strict integers, plain text, emails, and moments."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

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
