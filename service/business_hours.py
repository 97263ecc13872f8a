"""Business-hours arithmetic over a working calendar: pure, no database, no app.

A `Calendar` is the working days (Monday is 0), one window of working hours a day (local
time, `start < end`, so a window never crosses midnight), an IANA time zone and holidays (local
dates on which nobody works). The defaults are Monday to Friday, 09:00 to 17:00, UTC, no
holidays; `service/config.py` reads them from `BUSINESS_DAYS`, `BUSINESS_HOURS`,
`BUSINESS_TIMEZONE` and `BUSINESS_HOLIDAYS` with `calendar_from_settings`.

Business time is real elapsed time inside the windows: every window is turned into two UTC
instants before anything is added or measured, so a day whose clocks change counts the hours
that really passed (a window of 09:00 to 17:00 is eight hours on either side of a change; one
that contains the change is one hour longer or shorter). Instants in and out are timezone-aware.

- `add(calendar, start, duration)`: the instant `duration` of business time after `start`. A
  zero duration gives `start` itself; otherwise the result lies inside a window (at its end when
  the duration runs out exactly there, not at the next morning).
- `between(calendar, start, end)`: the business time from `start` to `end` (zero when `end`
  is not after `start`).

They agree: `between(c, s, add(c, s, d)) == d` for every `d >= 0`, which
`tests/tickets/test_business_hours.py` checks over random calendars, zones and instants.
These names are relied on by the service levels (`service/tickets/sla.py`) and the reminders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The most days either operation walks: a calendar with so few working days that a duration
# needs more than this is a configuration mistake, not an answer.
MAX_DAYS = 366 * 30


class CalendarError(ValueError):
    """A calendar setting that cannot be a working calendar; the message says which and why."""


@dataclass(frozen=True)
class Calendar:
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(9, 0)
    end: time = time(17, 0)
    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise CalendarError("BUSINESS_DAYS must name at least one day, mon to sun.")
        if not self.start < self.end:
            raise CalendarError("BUSINESS_HOURS must start before they end, such as 09:00-17:00.")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(
                f"BUSINESS_TIMEZONE must be an IANA time zone such as Europe/Berlin; "
                f"got {self.timezone!r}."
            ) from exc
        object.__setattr__(self, "zone", zone)

    def working(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a local date as UTC instants, or None on a day off."""
        if not self.working(day):
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)
        return (opens, closes) if opens < closes else None

    def local_date(self, instant: datetime) -> date:
        return _aware(instant).astimezone(self.zone).date()

    def describe(self) -> str:
        """The calendar as people read it: `mon, tue, wed, thu, fri 09:00-17:00 UTC`."""
        days = ", ".join(DAY_NAMES[d] for d in sorted(self.weekdays))
        hours = f"{self.start:%H:%M}-{self.end:%H:%M}"
        holidays = f", {len(self.holidays)} holiday(s)" if self.holidays else ""
        return f"{days} {hours} {self.timezone}{holidays}"

    def windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working windows that end after `instant`, in order (at most `MAX_DAYS` days)."""
        instant = _aware(instant)
        day = self.local_date(instant)
        for _ in range(MAX_DAYS):
            found = self.window(day)
            if found is not None and found[1] > instant:
                yield found
            day += timedelta(days=1)
        raise CalendarError("The calendar has no working time within thirty years.")


DEFAULT_CALENDAR = Calendar()


def add(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of business time after `start`."""
    if duration < timedelta(0):
        raise ValueError("A business duration is never negative.")
    start = _aware(start)
    if not duration:
        return start
    remaining = duration
    for opens, closes in calendar.windows_from(start):
        cursor = max(start, opens)
        available = closes - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
    raise AssertionError("windows_from ends by raising")  # pragma: no cover


def add_hours(calendar: Calendar, start: datetime, hours: float) -> datetime:
    return add(calendar, start, timedelta(hours=hours))


def between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """The business time from `start` to `end`."""
    start, end = _aware(start), _aware(end)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total


def calendar_from_settings(
    *, days: str | None, hours: str | None, timezone: str | None, holidays: str | None
) -> Calendar:
    """A calendar from the settings' text; an unset one keeps its default.

    `days`: `mon-fri`, `mon,wed,fri` or `sun-thu`; `hours`: `09:00-17:00`; `timezone`: an
    IANA name; `holidays`: ISO dates separated by commas, `2026-12-25,2026-12-26`.
    """
    default = DEFAULT_CALENDAR
    weekdays = _days(days) if days and days.strip() else default.weekdays
    start, end = _hours(hours) if hours and hours.strip() else (default.start, default.end)
    zone = timezone.strip() if timezone and timezone.strip() else default.timezone
    off = _holidays(holidays.split(",")) if holidays and holidays.strip() else frozenset()
    return Calendar(weekdays=weekdays, start=start, end=end, timezone=zone, holidays=off)


def _days(raw: str) -> frozenset[int]:
    chosen: set[int] = set()
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise CalendarError(
                f"BUSINESS_DAYS names days as mon, tue, … sun, or ranges such as mon-fri; "
                f"got {part!r}."
            )
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        # A range may wrap round the week: fri-mon is Friday to Monday.
        chosen.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    if not chosen:
        raise CalendarError("BUSINESS_DAYS must name at least one day, mon to sun.")
    return frozenset(chosen)


def _hours(raw: str) -> tuple[time, time]:
    match = _HOURS.fullmatch(raw.strip())
    error = CalendarError(f"BUSINESS_HOURS must read like 09:00-17:00; got {raw!r}.")
    if match is None:
        raise error
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise error
    # 24:00 is the end of the day.
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    start = time(h1, m1)
    if not start < end:
        raise CalendarError(f"BUSINESS_HOURS must start before they end; got {raw!r}.")
    return start, end


def _holidays(parts: Iterable[str]) -> frozenset[date]:
    days: set[date] = set()
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            if _DATE.fullmatch(part) is None:
                raise ValueError(part)
            days.add(date.fromisoformat(part))
        except ValueError as exc:
            raise CalendarError(
                f"BUSINESS_HOLIDAYS takes dates such as 2026-12-25, separated by commas; "
                f"got {part!r}."
            ) from exc
    return frozenset(days)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("Business-hours arithmetic takes timezone-aware instants.")
    return instant
