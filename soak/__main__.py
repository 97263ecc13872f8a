"""`python -m soak`: run the soak, print the figures, exit 1 when an invariant broke."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from harness.worker import PROJECT_ROOT
from soak.run import Settings, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0, help="how long the load runs")
    parser.add_argument("--organizations", type=int, default=30)
    parser.add_argument("--web", type=int, default=3, help="gunicorn processes")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--fault-every", type=float, default=20.0, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--database",
        default=os.environ.get("SOAK_DATABASE", "rolegate_soak"),
        help="a PostgreSQL database of the soak's own: dropped and migrated",
    )
    parser.add_argument(
        "--code", type=Path, default=PROJECT_ROOT, help="the checkout whose code runs"
    )
    arguments = parser.parse_args()
    server = os.environ.get("BENCH_PG", "127.0.0.1:5432")
    with tempfile.TemporaryDirectory(prefix="soak-") as logs:
        settings = Settings(
            database_url=f"postgresql://{server}/{arguments.database}",
            logs=Path(logs),
            seconds=arguments.minutes * 60,
            organizations=arguments.organizations,
            web_processes=arguments.web,
            workers=arguments.workers,
            fault_every=arguments.fault_every,
            seed=arguments.seed,
            code=arguments.code.resolve(),
        )
        print(
            f"soak: {arguments.minutes:g} min, {settings.organizations} organizations, "
            f"{settings.web_processes} gunicorn processes, {settings.workers} workers, "
            f"a fault every {settings.fault_every:g} s; code {settings.code}",
            flush=True,
        )
        started = time.monotonic()
        report = run(settings)
        print(report.text())
        print(f"\nsoak took {time.monotonic() - started:.0f} s")
    sys.exit(0 if report.held else 1)


if __name__ == "__main__":
    main()
