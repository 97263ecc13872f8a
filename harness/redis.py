"""A private `redis-server` on a free port, which a test or the soak may stop, start and flush.

Never the shared Redis: whoever needs Redis to fail starts its own (`--save ""`, no append-only
file, so a restart comes back empty, as a Redis without persistence does).
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from harness.server import ServerProcess
from harness.smtp import HOST


class RedisServer(ServerProcess):
    """`redis-server` on `port`, the same one across restarts; `stop` also loses every key."""

    name = "redis"
    start_timeout = 20.0

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def client(self) -> Redis:
        return Redis(host=HOST, port=self.port, socket_connect_timeout=2)

    def command(self) -> list[str]:
        port = str(self.port)
        return ["redis-server", "--port", port, "--bind", HOST, "--save", "", "--appendonly", "no"]

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except RedisError:
            return False

    def flushall(self) -> None:
        self.client().flushall()


def dump_keys(redis: Redis) -> list[str]:
    """Every key in `redis` and its value, as text: what the purge checks read for personal data."""
    chunks = []
    for key in redis.scan_iter(count=1000):
        chunks.append(repr(key))
        kind = redis.type(key)
        if kind == b"string":
            chunks.append(repr(redis.get(key)))
        elif kind == b"hash":
            chunks.append(repr(redis.hgetall(key)))
        elif kind == b"list":
            chunks.append(repr(redis.lrange(key, 0, -1)))
        elif kind == b"set":
            chunks.append(repr(redis.smembers(key)))
        elif kind == b"zset":
            chunks.append(repr(redis.zrange(key, 0, -1)))
    return chunks
