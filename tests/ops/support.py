"""What the operations tests share: the log lines as production writes them, a Redis of the test's
own that it may stop, and a scrape of /metrics read with prometheus_client's parser. Ports and
waiting come from the harness that the worker tests use."""

from __future__ import annotations

import io
import json
import logging
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis.exceptions import RedisError

from harness.smtp import free_port
from harness.worker import wait_for
from service import logs

METRICS_TOKEN = "metrics-token-for-the-test-suite-0123456789"


class Captured:
    """Lines written by a handler with the production formatter, read back as text or JSON."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


def _the_apps(record: logging.LogRecord) -> bool:
    # The test's own SMTP server (aiosmtpd) logs every conversation: not a line the app writes.
    return not record.name.startswith("mail.log")


@contextmanager
def captured_logs(log_format: str = "json") -> Iterator[Captured]:
    """Every record the app logs while the block runs, formatted as `LOG_FORMAT` writes it."""
    stream = io.StringIO()
    handler = logs.handler(log_format, stream)
    handler.addFilter(_the_apps)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


class PrivateRedis:
    """A redis-server of the test's own, on a free port: stopping it touches no one else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed"
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: _answers(client), timeout=30, what="the private redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except RedisError:
        return False


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class TcpRelay:
    """A TCP relay the test can cut: processes reach a server (the database) through it, and
    `stop` drops every connection and refuses new ones, as an outage would, without touching
    the server itself."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self.lock:
            if self.listener is not None:
                # A thread waits in accept(): shutting the socket down wakes it, closing alone
                # would leave the port listening.
                with suppress(OSError):
                    self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                self.listener = None
            for connection in self.open:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a scrape, by (sample name, labels), read with prometheus_client's parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/plain"
    return parse_metrics(response.get_data(as_text=True))


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape does not have it (a counter never counted)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
