"""Worker processes for the tests of this folder, on the test database and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.redis import RedisServer
from harness.worker import FAST_PASSWORD_HASHING, Workers


@pytest.fixture
def workers(app, tmp_path) -> Iterator[Workers]:
    """Starts `flask --app service worker` processes; whatever is left running is killed."""
    started = Workers(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        logs=tmp_path,
        settings={"BASE_URL": app.config["BASE_URL"], **FAST_PASSWORD_HASHING},
    )
    yield started
    started.kill_all()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A `redis-server` of the test's own, which it may stop, start and flush."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
