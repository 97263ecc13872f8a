"""Activation and reset links never reach an access log: the development server's (werkzeug) and
production's (gunicorn) both write the path with the token replaced."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from service import PROJECT_ROOT
from service.log_redaction import redact
from tests.live_server import live_server

TOKEN = "Tk3n-ShouldNeverBeLogged_0123456789abcdefghijkl"


@pytest.mark.parametrize(
    ("line", "written"),
    [
        (f"GET /activate/{TOKEN} HTTP/1.1", "GET /activate/[redacted] HTTP/1.1"),
        (f"POST /reset/{TOKEN}?next=/x HTTP/1.1", "POST /reset/[redacted]?next=/x HTTP/1.1"),
        (f"http://rolegate.test/reset/{TOKEN}", "http://rolegate.test/reset/[redacted]"),
        ("GET /api/activate HTTP/1.1", "GET /api/activate HTTP/1.1"),
        ("GET /tickets/CR-000001 HTTP/1.1", "GET /tickets/CR-000001 HTTP/1.1"),
    ],
)
def test_the_secret_part_of_a_link_is_replaced(line, written):
    assert redact(line) == written


def _get(url: str) -> None:
    """Any answer will do (a made-up link's page is 410): only the access log line matters."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as answered:
        answered.read()


def test_the_development_servers_access_log_never_shows_a_token(app, caplog):
    with caplog.at_level(logging.INFO, logger="werkzeug"), live_server(app) as url:
        for path in (f"/activate/{TOKEN}", f"/reset/{TOKEN}"):
            _get(url + path)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /activate/[redacted] HTTP/1.1" in logged
    assert "GET /reset/[redacted] HTTP/1.1" in logged
    assert TOKEN not in logged
    assert TOKEN not in caplog.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_gunicorns_access_log_never_shows_a_token(app, tmp_path: Path):
    port = _free_port()
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ROLEGATE_ENV": "development",
    }
    env.pop("REDIS_URL", None)
    # The repository's gunicorn.conf.py, as production runs it; the log goes to a file here.
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
            "service:create_app()",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/activate/{TOKEN}")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                assert server.poll() is None, "gunicorn exited"
                time.sleep(0.2)
        _get(f"http://127.0.0.1:{port}/reset/{TOKEN}?from=mail")
        while "/reset/" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "gunicorn wrote no access log line"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = log.read_text()
    assert "GET /activate/[redacted] HTTP/1.1" in written
    assert "GET /reset/[redacted]?from=mail HTTP/1.1" in written
    assert TOKEN not in written
