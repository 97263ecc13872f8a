"""A server in a process of its own, on a free port that it keeps across restarts: the private
Redis (`harness.redis`) and the SMTP recorder (`harness.smtp_recorder`). Stopping it kills it
at once, which is how the tests, the soak and the benchmarks make an outage."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.smtp import free_port
from harness.worker import PROJECT_ROOT, wait_for


class ServerProcess:
    """Subclasses give the server's `command`, how to tell that it `answers`, what it is called
    (`name`, also its output file's: `<name>-<port>.<suffix>`) and how long it may take to start."""

    name = "server"
    suffix = "log"
    start_timeout = 30.0

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        """Run the server, its output appended to its file under the logs, until it answers."""
        assert self.process is None, "already running"
        with (self.logs / f"{self.name}-{self.port}.{self.suffix}").open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.answers, timeout=self.start_timeout, what=f"{self.name} on port {self.port}")

    def answers(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server at once (SIGKILL): every connection drops."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
