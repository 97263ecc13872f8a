"""Marshmallow fields shared by the input schemas: strict integers and safe text."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import ValidationError, fields


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


class SafeText(fields.String):
    """Text that the databases can store as written: valid UTF-8, no NUL or control characters.

    `multiline=True` allows line breaks and tabs (comments, reasons); single-line fields don't.
    """

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Not valid Unicode text.") from exc
        allowed = {"\n", "\r", "\t"} if self.multiline else set()
        for char in text:
            if char not in allowed and unicodedata.category(char) in {"Cc", "Cs"}:
                raise ValidationError("Control characters are not allowed here.")
        return text


class StrictBool(fields.Boolean):
    """A JSON boolean: `true` or `false`, not 1, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
