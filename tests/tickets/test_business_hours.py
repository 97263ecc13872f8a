"""Business-hours arithmetic (service/business_hours.py): examples, clock changes, and the
property that adding and measuring agree over random calendars, zones and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.business_hours import (
    Calendar,
    CalendarError,
    add,
    add_hours,
    between,
    calendar_from_settings,
)

DEFAULT = Calendar()
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_adding_within_a_day_and_across_nights_and_weekends():
    friday_4pm = utc(2026, 11, 27, 16)
    assert add_hours(DEFAULT, friday_4pm, 0.5) == utc(2026, 11, 27, 16, 30)
    # An hour left on Friday, the rest from Monday morning.
    assert add_hours(DEFAULT, friday_4pm, 3) == utc(2026, 11, 30, 11)
    # Exactly to the end of the day: 17:00, not the next morning.
    assert add_hours(DEFAULT, friday_4pm, 1) == utc(2026, 11, 27, 17)
    # Started on a Saturday night: counted from Monday 09:00.
    assert add_hours(DEFAULT, utc(2026, 11, 28, 23), 8) == utc(2026, 11, 30, 17)
    assert add_hours(DEFAULT, utc(2026, 11, 28, 23), 0) == utc(2026, 11, 28, 23)
    assert add_hours(DEFAULT, utc(2026, 11, 30, 9), 40) == utc(2026, 12, 4, 17)


def test_measuring_counts_only_working_windows():
    assert between(DEFAULT, utc(2026, 11, 27, 16), utc(2026, 11, 30, 11)) == 3 * H
    assert between(DEFAULT, utc(2026, 11, 28, 0), utc(2026, 11, 29, 23)) == timedelta(0)
    assert between(DEFAULT, utc(2026, 11, 30, 11), utc(2026, 11, 27, 16)) == timedelta(0)


def test_holidays_and_a_time_zone():
    calendar = calendar_from_settings(
        days="mon-fri", hours="09:00-17:00", timezone="Europe/Berlin", holidays="2026-12-25"
    )
    # Thursday 24 December, 16:00 in Berlin (15:00 UTC): one hour that day, then Monday 28th.
    start = utc(2026, 12, 24, 15)
    assert add_hours(calendar, start, 2) == utc(2026, 12, 28, 9)  # 10:00 in Berlin
    assert between(calendar, start, utc(2026, 12, 28, 9)) == 2 * H


def test_windows_keep_their_local_hours_across_a_clock_change():
    calendar = Calendar(timezone="Europe/London")
    # Friday 27 March 2026 16:00 GMT; the clocks go forward on Sunday 29 March.
    start = utc(2026, 3, 27, 16)
    # One hour on Friday; Monday opens at 09:00 BST, which is 08:00 UTC.
    assert add_hours(calendar, start, 2) == utc(2026, 3, 30, 9)
    assert between(calendar, start, utc(2026, 3, 30, 9)) == 2 * H


def test_a_window_that_contains_the_change_counts_the_hours_that_passed():
    calendar = Calendar(weekdays=frozenset(range(7)), start=time(0), timezone="Europe/London")
    # Sunday 29 March 2026, 00:00 to 17:00 local: 16 hours passed (01:00 became 02:00).
    opens = utc(2026, 3, 29, 0)
    closes = utc(2026, 3, 29, 16)
    assert between(calendar, opens, closes + timedelta(hours=1)) == 16 * H
    assert add_hours(calendar, opens, 16) == closes


@pytest.mark.parametrize(
    ("settings_", "word"),
    [
        ({"days": "someday"}, "BUSINESS_DAYS"),
        ({"days": ","}, "BUSINESS_DAYS"),
        ({"hours": "9-5"}, "BUSINESS_HOURS"),
        ({"hours": "17:00-09:00"}, "BUSINESS_HOURS"),
        ({"hours": "25:00-26:00"}, "BUSINESS_HOURS"),
        ({"timezone": "Mars/Olympus"}, "BUSINESS_TIMEZONE"),
        ({"timezone": "../etc/passwd"}, "BUSINESS_TIMEZONE"),
        ({"holidays": "2026-13-01"}, "BUSINESS_HOLIDAYS"),
        ({"holidays": "christmas"}, "BUSINESS_HOLIDAYS"),
    ],
)
def test_nonsense_settings_are_refused_by_name(settings_, word):
    given_ = {"days": None, "hours": None, "timezone": None, "holidays": None, **settings_}
    with pytest.raises(CalendarError, match=word):
        calendar_from_settings(**given_)


def test_day_ranges_may_wrap_round_the_week():
    calendar = calendar_from_settings(days="fri-mon", hours=None, timezone=None, holidays=None)
    assert calendar.weekdays == frozenset({4, 5, 6, 0})
    assert calendar_from_settings(
        days="sun-thu", hours="08:30-24:00", timezone=None, holidays=None
    ).weekdays == frozenset({6, 0, 1, 2, 3})


def test_naive_instants_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add(DEFAULT, datetime(2026, 1, 1), H)
    with pytest.raises(ValueError, match="negative"):
        add(DEFAULT, utc(2026, 1, 1), -H)


ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",  # a half-hour clock change
    "Asia/Kolkata",
    "Pacific/Chatham",
]

calendars = st.builds(
    lambda days, start, length, zone, holidays: Calendar(
        weekdays=frozenset(days),
        start=time(start // 60, start % 60),
        end=time(min(start + length, 24 * 60 - 1) // 60, min(start + length, 24 * 60 - 1) % 60),
        timezone=zone,
        holidays=frozenset(holidays),
    ),
    st.sets(st.integers(0, 6), min_size=1),
    st.integers(0, 22 * 60),
    st.integers(30, 12 * 60),
    st.sampled_from(ZONES),
    st.sets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=20),
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
durations = st.integers(0, 300 * 3600 * 1000).map(lambda ms: timedelta(milliseconds=ms))


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, duration=durations)
def test_adding_then_measuring_gives_the_duration_back(calendar, start, duration):
    end = add(calendar, start, duration)
    assert end >= start
    assert between(calendar, start, end) == duration


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, gap=durations)
def test_measuring_then_adding_reaches_the_end_or_its_last_working_moment(calendar, start, gap):
    end = start + gap
    measured = between(calendar, start, end)
    reached = add(calendar, start, measured)
    assert reached <= end
    # Nothing of business time lies between where adding stopped and the end.
    assert between(calendar, reached, end) == timedelta(0)
