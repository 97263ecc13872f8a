"""The soak: Rolegate as production runs it, under load, with the faults production sees.

`make soak` (`python -m soak`) runs a few minutes against gunicorn and several workers on
PostgreSQL and a private Redis, then checks the invariants of docs/design.md's job layer and
prints its figures; `tests/test_soak.py` runs a one-minute version in `make test`.
soak/run.py starts the processes and injects the faults, soak/load.py is the load, and
soak/checks.py the judge.
"""
