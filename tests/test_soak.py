"""A minute of the soak (soak/): gunicorn and workers under load, every fault once, every invariant.

`make soak` runs the same for a few minutes with more organizations; this version runs in the
PostgreSQL pass of `make test`, on the test database (migrated and emptied by the fixtures).
"""

from __future__ import annotations

import pytest

from soak.run import Settings, run

pytestmark = pytest.mark.postgres_only


def test_a_minute_of_load_and_every_fault_keeps_every_invariant(app, tmp_path, capsys):
    database_url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql")
    settings = Settings(
        database_url=database_url,
        logs=tmp_path,
        seconds=60,
        organizations=6,
        web_processes=2,
        workers=2,
        fault_every=7,
        drain_seconds=240,
        prepare_database=False,
    )
    report = run(settings)
    with capsys.disabled():
        print(report.text())
    assert report.held, report.text()
