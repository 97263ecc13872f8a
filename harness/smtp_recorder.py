"""An SMTP server in a process of its own that logs every message it accepts.

    python -m harness.smtp_recorder --port 2525 --log messages.jsonl [--keep DIR]

Each accepted message is one JSON line: when, the envelope, its `Message-ID`, the client's port
(one per SMTP connection) and its size; with `--keep`, its bytes are written to DIR as well. The
soak and bench/email.py read the log to check what was delivered; stopping the process
(`SmtpRecorder.stop`) is an SMTP outage. aiosmtpd does the SMTP, in a process of its own so that
it does not share an interpreter with what it measures.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from harness.server import ServerProcess
from harness.smtp import HOST

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


class Recorder:
    def __init__(self, log: Path, keep: Path | None) -> None:
        self.log = log.open("a", encoding="utf-8")
        self.keep = keep
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        header = content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(header)
        with self.lock:
            self.count += 1
            record = {
                "n": self.count,
                "at": time.time(),
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "message_id": found.group(1).decode() if found else None,
                "peer_port": session.peer[1] if session.peer else None,
                "size": len(content),
            }
            if self.keep is not None:
                (self.keep / f"{self.count:08d}.eml").write_bytes(content)
            self.log.write(json.dumps(record) + "\n")
            self.log.flush()
        return "250 Message accepted for delivery"


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every message the recorder accepted so far, in order."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class SmtpRecorder(ServerProcess):
    """This module run as a process of its own, on the same port across restarts; `stop` is an
    SMTP outage: connections drop, nothing more is accepted."""

    name = "smtp"
    suffix = "out"

    def __init__(self, logs: Path, *, keep: Path | None = None) -> None:
        super().__init__(logs)
        self.log = logs / f"smtp-{self.port}.jsonl"
        self.keep = keep

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "harness.smtp_recorder", "--port", str(self.port)]
        command += ["--log", str(self.log)]
        return command + (["--keep", str(self.keep)] if self.keep is not None else [])

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as probe:
                return probe.recv(3) == b"220"
        except OSError:
            return False

    def messages(self) -> list[dict[str, Any]]:
        return read_log(self.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--keep", type=Path)
    arguments = parser.parse_args()
    if arguments.keep is not None:
        arguments.keep.mkdir(parents=True, exist_ok=True)
    controller = Controller(
        Recorder(arguments.log, arguments.keep),
        hostname=HOST,
        port=arguments.port,
        server_hostname="smtp.rolegate.test",
        decode_data=False,
        data_size_limit=None,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
