"""The run: every measurement in order, its tables, and the targets met or missed."""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from redis import Redis

from bench.apply.api import Bench, sign_in
from bench.apply.diagnostics import print_explain, print_profile, print_statements
from bench.apply.in_process import Samples, measure_mixed, measure_pure
from bench.apply.live_worker import WorkerRound, measure_worker
from bench.apply.roster import seed
from bench.apply.settings import (
    MIXED_SIZES,
    PURE_SIZE,
    REDIS_KEYS,
    REDIS_URL,
    REPEAT,
    ROSTER,
    SLUG,
    STAFF,
    TARGET_PURGE_PER_CREATE,
    TARGET_QUEUE_SHARE,
    TARGET_RATIO,
    WARMUP,
)
from bench.common import bench_app
from service.extensions import db


def main() -> None:
    args = set(sys.argv[1:])
    app = bench_app(Path(tempfile.mkdtemp()))
    app.config["REDIS_URL"] = None
    with app.app_context():
        engine = db.engine
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    try:
        with app.app_context():
            seeded = seed(engine)
        bench = Bench(
            app=app,
            engine=engine,
            seeded=seeded,
            redis=redis,
            admin=sign_in(app, f"admin@{SLUG}.example"),
            staff=[sign_in(app, f"staff{n}@vendor.example") for n in range(STAFF)],
        )
        run(bench, args)
    finally:
        redis.flushdb()


def print_samples(samples: Samples) -> None:
    total, floor, narrow = (
        samples.median(lambda t: t.total_s),
        samples.floor_s,
        samples.narrow_floor_s,
    )
    floor_ms = f"{floor * 1000:>9.1f}" if floor else f"{'-':>9}"
    ratio = f"{total / floor:>6.2f}" if floor else f"{'-':>6}"
    narrow_ms = f"{narrow * 1000:>9.1f}" if narrow else f"{'-':>9}"
    narrow_ratio = f"{total / narrow:>6.2f}" if narrow else f"{'-':>6}"
    statements = "/".join(str(n) for n in samples.statements)
    print(
        f"{samples.label:<26} {samples.items:>6} "
        f"{samples.median(lambda t: t.apply_s) * 1000:>9.1f} "
        f"{samples.median(lambda t: t.commit_s) * 1000:>10.1f} {total * 1000:>9.1f} "
        f"{floor_ms} {ratio} {narrow_ms} {narrow_ratio} {statements:>6}"
    )


def per_contact(samples: Samples) -> float:
    return samples.median(lambda t: t.total_s) / samples.items


def print_worker(rounds: list[WorkerRound]) -> float:
    """The table of the live-worker rounds; returns the median queue's share."""
    share = statistics.median(r.share for r in rounds)
    print(
        f"{'round':<7} {'total':>7} {'approve>':>9} {'enqueued>':>10} {'started>':>9} "
        f"{'apply':>7} {'implemented>':>13} {'share':>7} {'outside':>8} {'answer':>7} "
        f"{'job':>7} {'keys':>6}"
    )
    print(
        f"{'':<7} {'':>7} {'enqueued':>9} {'started':>10} {'apply':>9} "
        f"{'':>7} {'seen':>13} {'':>7} {'':>8} {'':>7} {'':>7} {'':>6}"
    )
    rows = [(str(n), vars(r), r.share, r.outside) for n, r in enumerate(rounds, start=1)]
    rows.append(
        (
            "median",
            {k: statistics.median(vars(r)[k] for r in rounds) for k in vars(rounds[0])},
            share,
            statistics.median(r.outside for r in rounds),
        )
    )
    for label, values, round_share, outside in rows:
        ms = {k: v * 1000 for k, v in values.items() if k.endswith("_s")}
        print(
            f"{label:<7} {ms['total_s']:>7.1f} {ms['enqueue_s']:>9.1f} {ms['wait_s']:>10.1f} "
            f"{ms['setup_s']:>9.1f} {ms['apply_s']:>7.1f} {ms['tail_s']:>13.1f} "
            f"{round_share:>7.1%} {outside:>8.1%} {ms['answer_s']:>7.1f} {ms['job_s']:>7.1f} "
            f"{values['redis_keys']:>6.0f}"
        )
    return share


def run(bench: Bench, args: set[str]) -> None:
    print(
        f"Roster of {ROSTER:,} active contacts; medians of {REPEAT[100]} (100 items) and "
        f"{REPEAT[1000]} (1,000 items) rounds after {WARMUP} warm-up round; in-process, "
        "REDIS_URL unset unless the row says otherwise."
    )
    print()
    print(
        f"{'batch':<26} {'items':>6} {'apply ms':>9} {'commit ms':>10} {'total ms':>9} "
        f"{'floor ms':>9} {'ratio':>6} {'c+r ms':>9} {'ratio':>6} {'stmts':>6}"
    )
    mixed = {}
    for size in MIXED_SIZES:
        mixed[size] = measure_mixed(bench, size)
        print_samples(mixed[size])
    adds, deletions = measure_pure(bench, PURE_SIZE)
    print_samples(adds)
    print_samples(deletions)
    small_adds, redis_deletions = measure_pure(bench, 100, redis_keys=REDIS_KEYS)
    print_samples(small_adds)
    print_samples(redis_deletions)

    create, purge = per_contact(adds), per_contact(deletions)
    small_create, redis_purge = per_contact(small_adds), per_contact(redis_deletions)
    print()
    print(
        f"Per contact, {PURE_SIZE:,}-contact batches: create {create * 1000:.2f} ms, purge "
        f"{purge * 1000:.2f} ms, purge / create {purge / create:.2f}."
    )
    print(
        f"Per contact, 100-contact batches, the purge with Redis holding {REDIS_KEYS:,} keys: "
        f"create {small_create * 1000:.2f} ms, purge {redis_purge * 1000:.2f} ms, "
        f"purge / create {redis_purge / small_create:.2f}."
    )

    rounds = measure_worker(bench, 100)
    print()
    print(
        f"Live worker, 100-item mixed batch, {len(rounds)} rounds after {WARMUP} warm-up (ms; "
        "the five parts add up to the total; share: enqueued > apply; keys: Redis keys before the "
        "approval):"
    )
    share = print_worker(rounds)

    misses = []
    big = mixed[1000]
    assert big.floor_s is not None
    if big.median(lambda t: t.total_s) / big.floor_s > TARGET_RATIO:
        misses.append("ratio for 1,000 items")
    if max(big.statements) > max(mixed[100].statements):
        misses.append("statement count grows with the batch")
    if purge / create > TARGET_PURGE_PER_CREATE:
        misses.append("purge per contact")
    if redis_purge / small_create > TARGET_PURGE_PER_CREATE:
        misses.append(f"purge per contact with Redis holding {REDIS_KEYS:,} keys")
    if share > TARGET_QUEUE_SHARE:
        misses.append("queue's share")
    print()
    print(
        f"Targets: ratio <= {TARGET_RATIO:g} for 1,000 items; statements not growing with the "
        f"batch; purge <= {TARGET_PURGE_PER_CREATE:g} x create per contact; queue's share <= "
        f"{TARGET_QUEUE_SHARE:.0%}."
    )
    print("Missed: " + "; ".join(misses) if misses else "All targets met.")
    if "--statements" in args:
        print_statements(bench, 1000)
    if "--profile" in args:
        print_profile(bench, 1000)
    if "--explain" in args:
        print_explain(bench, 1000)
