"""A private `redis-server` on a free port, which a test or the soak may stop, start and flush.

Never the shared Redis: whoever needs Redis to fail starts its own (`--save ""`, no append-only
file, so a restart comes back empty, as a Redis without persistence does).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from harness.smtp import HOST, free_port
from harness.worker import wait_for


class RedisServer:
    """`redis-server` on `port`, the same one across restarts."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def client(self) -> Redis:
        return Redis(host=HOST, port=self.port, socket_connect_timeout=2)

    def start(self) -> None:
        assert self.process is None, "already running"
        with (self.logs / f"redis-{self.port}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.answers, timeout=20, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except RedisError:
            return False

    def stop(self) -> None:
        """Stop the server at once (SIGKILL): every connection drops, every key is gone."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def flushall(self) -> None:
        self.client().flushall()
