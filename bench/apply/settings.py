"""What the apply benchmark runs: the roster, the batches and rounds, and the targets."""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SLUG = "bench"
ROSTER = 2000
# The roles batches grant and revoke; none of them asks for the "implemented" email.
ROLES = ("financial", "agreement", "technical")
# Holders of `management`, which does: each applied batch tells them (and the administrator).
MANAGERS = 20
PASSWORD = "benchmark-password"
STAFF = 2
MIXED_SIZES = (100, 1000)
PURE_SIZE = 1000
WARMUP = 1
REPEAT = {100: 9, 1000: 5}
WORKER_ROUNDS = 7
# Keys in the private Redis while the purge of the "deletions, Redis" row runs.
REDIS_KEYS = 1000
POLL_SECONDS = 0.002
# Shares of a mixed batch, in percent; each item acts on a different contact.
MIX = {"add": 25, "delete": 25, "grant": 15, "revoke": 15, "update": 20}

TARGET_RATIO = 3.0
TARGET_PURGE_PER_CREATE = 5.0
TARGET_QUEUE_SHARE = 0.10
