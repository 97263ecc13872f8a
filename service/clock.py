"""One notion of "now" for the whole service: `now()`, which `models_base.utcnow()` returns.

Every time the service writes or compares (due times, token expiry, retention, the sweep) is
read through `now()`. The real clock can be moved by a fixed **offset**, the `CLOCK_OFFSET`
setting: a testing and demo setting that lets a test or a demonstration start the web process
and real rq workers (separate processes) three days ahead, so that what would happen then
(a target breached, a reminder due, a ticket closed for want of an answer) happens now.
Production refuses it (`service/config.py`).

`CLOCK_OFFSET` is a duration: a number with a unit, `s`, `m`, `h`, `d` or `w`, such as `3d`,
`36h`, `90m`, several of them such as `1d12h`, or a plain number of seconds such as `3600`. A
leading `-` moves the clock back. Anything else is refused with a clear error
(`ClockOffsetError`), and so is more than ten years either way.

Each process holds its offset once: `configure()` sets it (the app factory does, from the
configuration, and logs once that the clock is moved); a process that never configured it reads
the environment's `CLOCK_OFFSET` at its first `now()`. `flask --app service clock` shows the
effective clock. Names other modules rely on: `now`, `offset`, `configure`, `parse_offset`,
`moved` (a context manager for tests in one process).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

ENV_NAME = "CLOCK_OFFSET"
# Far enough for any test or demonstration; further is surely a mistake.
LIMIT = timedelta(days=3650)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"([0-9]{1,9})([smhdw])")
_SECONDS = re.compile(r"[0-9]{1,12}")

_offset: timedelta | None = None


class ClockOffsetError(ValueError):
    """The offset given is not a duration the clock can be moved by."""


def parse_offset(raw: str | None) -> timedelta:
    """The duration `raw` writes (`3d`, `36h`, `1d12h`, `-2h`, `3600`); zero when empty."""
    if raw is None or raw.strip() == "":
        return timedelta(0)
    text = raw.strip().lower()
    sign = 1
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if _SECONDS.fullmatch(text):
        seconds = int(text)
    else:
        position, seconds = 0, 0
        for match in _PART.finditer(text):
            if match.start() != position:
                break
            seconds += int(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if position == 0 or position != len(text):
            raise ClockOffsetError(
                f"{ENV_NAME} must be a duration such as 3d, 36h, 1d12h, 90m or a number of "
                f"seconds; got {raw!r}."
            )
    value = timedelta(seconds=sign * seconds)
    if abs(value) > LIMIT:
        raise ClockOffsetError(f"{ENV_NAME} moves the clock at most 3650 days; got {raw!r}.")
    return value


def configure(value: timedelta | str | None) -> timedelta:
    """Set this process's offset (a duration or its text); returns it."""
    global _offset
    _offset = value if isinstance(value, timedelta) else parse_offset(value)
    if abs(_offset) > LIMIT:
        raise ClockOffsetError(f"{ENV_NAME} moves the clock at most 3650 days.")
    return _offset


def offset() -> timedelta:
    """How far this process's clock is moved from the real one (zero unless set)."""
    if _offset is None:
        return configure(os.environ.get(ENV_NAME))
    return _offset


def now() -> datetime:
    """The service's current time: the real UTC time moved by the offset, timezone-aware."""
    return datetime.now(UTC) + offset()


def describe(value: timedelta) -> str:
    """The offset as people read it: `+3d 0h 0m 0s`, or `none`."""
    if not value:
        return "none"
    sign = "-" if value < timedelta(0) else "+"
    total = int(abs(value).total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{days}d {hours}h {minutes}m {seconds}s"


@contextmanager
def moved(by: timedelta | str) -> Iterator[timedelta]:
    """Within the block, this process's clock is moved by `by` more than it was (tests)."""
    before = offset()
    shift = by if isinstance(by, timedelta) else parse_offset(by)
    configure(before + shift)
    try:
        yield before + shift
    finally:
        configure(before)
