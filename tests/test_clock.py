"""The service's one clock (service/clock.py) and the `CLOCK_OFFSET` setting that moves it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from service import clock
from service.config import Config, ConfigError
from service.models_base import utcnow


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, timedelta(0)),
        ("", timedelta(0)),
        ("3d", timedelta(days=3)),
        ("36h", timedelta(hours=36)),
        ("1d12h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(days=14)),
        ("3600", timedelta(hours=1)),
        (" -2H ", timedelta(hours=-2)),
        ("+45s", timedelta(seconds=45)),
    ],
)
def test_durations_are_read(raw, expected):
    assert clock.parse_offset(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["3x", "d", "3 d", "1.5h", "3d-1h", "h3", "--3d", "3d,", "tomorrow", "3651d", "99999999w"],
)
def test_nonsense_is_refused_with_the_settings_name(raw):
    with pytest.raises(clock.ClockOffsetError, match="CLOCK_OFFSET"):
        clock.parse_offset(raw)


def test_the_configuration_refuses_nonsense_and_production_refuses_any_offset(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("CLOCK_OFFSET", "soon")
    with pytest.raises(ConfigError, match="CLOCK_OFFSET"):
        Config(tmp_path)
    monkeypatch.setenv("CLOCK_OFFSET", "3d")
    assert timedelta(days=3) == Config(tmp_path).CLOCK_OFFSET
    monkeypatch.setenv("ROLEGATE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/rolegate")
    monkeypatch.setenv("REDIS_URL", "redis://redis")
    monkeypatch.setenv("BASE_URL", "https://rolegate.example")
    with pytest.raises(ConfigError, match="production refuses"):
        Config(tmp_path)


def test_utcnow_is_the_moved_clock(app):
    real = datetime.now(UTC)
    with clock.moved("3d"):
        moved = utcnow()
    assert timedelta(days=3) <= moved - real < timedelta(days=3, minutes=1)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(minutes=1)


def test_another_process_reads_the_setting_and_the_command_shows_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
    env.update(CLOCK_OFFSET="3d", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "clock"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines())
    assert lines["CLOCK_OFFSET"].strip() == "+3d 0h 0m 0s"
    real = datetime.fromisoformat(lines["Real time"].strip())
    moved = datetime.fromisoformat(lines["Service time"].strip())
    assert moved - real == timedelta(days=3)
    assert "mon, tue, wed, thu, fri 09:00-17:00 UTC" in lines["Calendar"]
    # Said once, at start, in the log.
    assert done.stderr.count("The clock is moved by CLOCK_OFFSET") == 1
