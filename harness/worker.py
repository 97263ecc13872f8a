"""`flask --app service worker` as real processes, started the way an operator starts them.

Each worker runs in a session of its own, so that it can be killed with all its children (its
scheduler, a work horse), and with an environment made from explicit settings: the variables
of the calling process that would point it elsewhere (`DATABASE_URL`, `REDIS_*`, `SMTP_*`,
`FLASK_*`, the tests' `TEST_*`) are left out. Its output goes to a log file, whose tail a
failure shows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "flask", "--app", "service", "worker"]
LEFT_OUT = ("TEST_", "SMTP_", "FLASK_", "REDIS_", "DATABASE_")
# Password hashing as cheap as Argon2 allows: workers that create accounts in tests.
FAST_PASSWORD_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "64"}


class Worker(subprocess.Popen[bytes]):
    """A started worker process and the log file its output goes to."""

    log: Path

    def listening(self) -> bool:
        """Whether it has started listening on its queues."""
        return b"Listening on" in self.log.read_bytes()


class Workers:
    """Starts worker processes on one database and Redis; `kill_all` ends whatever is left.

    `smtp_port` (a local SMTP server) and `settings` (more environment variables) may change
    between starts: each worker gets them as they are when it starts.
    """

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str | None,
        logs: Path,
        settings: Mapping[str, str] | None = None,
        root: Path = PROJECT_ROOT,
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.logs = logs
        self.settings = dict(settings or {})
        # The code the workers run: this checkout, or another one (the soak compares two).
        self.root = root
        self.smtp_port: int | None = None
        self.started: list[Worker] = []

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(LEFT_OUT)}
        env.update(DATABASE_URL=self.database_url, PYTHONUNBUFFERED="1", PYTHONPATH=str(self.root))
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.smtp_port:
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.smtp_port))
        env.update(self.settings)
        return env

    def start(self, *, burst: bool = False) -> Worker:
        """A worker in a session of its own, so it can be killed with all its children."""
        log = self.logs / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as output:
            process = Worker(
                WORKER_COMMAND + (["--burst"] if burst else []),
                cwd=self.root,
                env=self.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process.log = log
        self.started.append(process)
        return process

    def start_listening(self, timeout: float = 60) -> Worker:
        """A worker (see `start`), once it listens on its queues."""
        process = self.start()
        wait_for(process.listening, timeout=timeout, what="the worker to listen", log=process)
        return process

    def burst(self, timeout: float = 60) -> None:
        """Run one burst worker to the end."""
        self.finish(self.start(burst=True), timeout)

    def finish(self, process: Worker, timeout: float = 60) -> None:
        """Wait for a burst worker to exit; it must exit cleanly, and in time."""
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_session(process)
            message = f"burst worker still running after {timeout}s\n{tail(process)}"
            raise AssertionError(message) from None
        assert returncode == 0, tail(process)

    def stop(self, process: Worker, timeout: float = 20) -> None:
        """Warm shutdown (SIGTERM: the current job finishes), then make sure all of it is gone."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
        kill_session(process)

    def kill_all(self) -> None:
        for process in self.started:
            kill_session(process)

    @contextlib.contextmanager
    def running(self, *, ready: Callable[[], Any], timeout: float = 60) -> Iterator[Worker]:
        """A worker for the block, once `ready()` says it has started; stopped warm after."""
        process = self.start()
        try:
            wait_for(ready, timeout=timeout, what="the worker to start", log=process)
            yield process
        finally:
            self.stop(process)


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid`: the worker, its scheduler, its work horse.

    A forking RQ worker's work horse calls setpgrp(), so it is not in the worker's process
    group; it stays in the worker's session.
    """
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getsid(pid) != sid:
                continue
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            pids.append(pid)
    return pids


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the worker's session and wait until none is left."""
    sid = process.pid
    deadline = time.monotonic() + 10
    while True:
        pids = session_pids(sid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert time.monotonic() < deadline, f"processes {pids} survived SIGKILL"
        time.sleep(0.05)
    process.wait(timeout=10)


def tail(process: Worker, size: int = 4000) -> str:
    return process.log.read_text(errors="replace")[-size:]


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    log: Worker | None = None,
) -> Any:
    """Poll `predicate` until it is truthy; fail after `timeout` seconds, or as soon as the
    worker whose `log` is given exits (showing the log's tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if log is not None and log.poll() is not None:
            raise AssertionError(f"the worker exited waiting for {what}\n{tail(log)}")
        if time.monotonic() > deadline:
            shown = f"\n--- worker log ---\n{tail(log)}" if log is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{shown}")
        time.sleep(interval)
