"""A server in a process of its own, on a free port that it keeps across restarts: the private
Redis (`harness.redis`) and the SMTP recorder (`harness.smtp_recorder`). Stopping it kills it
at once, which is how the tests, the soak and the benchmarks make an outage."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.smtp import free_port
from harness.worker import PROJECT_ROOT, wait_for


class ServerProcess:
    """Subclasses say how to tell that the server `answers`; `launch` starts it and waits."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self, command: list[str], *, output: str, timeout: float, what: str) -> None:
        """Run `command`, its output appended to `output` under the logs, until it answers."""
        assert self.process is None, "already running"
        with (self.logs / output).open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.answers, timeout=timeout, what=what)

    def answers(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server at once (SIGKILL): every connection drops."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
