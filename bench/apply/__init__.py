"""Benchmark: applying approved change requests to a roster of 2,000 contacts on PostgreSQL.

`python -m bench.apply` (PostgreSQL and Redis running; `make bench` runs it). What it seeds,
measures and compares, its targets and its options are described in docs/benchmarks.md.

- `settings`: the roster, batch sizes, rounds and targets;
- `roster`: the seeded customer, and the batches made against it;
- `api`: submitting and approving through the real API;
- `in_process`: the apply timed as the job runs it, and its floor;
- `live_worker`: approve-to-implemented with `flask --app service worker` running
  (started by `harness.worker`, with `harness.smtp`'s server, as tests/workers/ start them);
- `diagnostics`: `--statements`, `--explain`, `--profile`;
- `report`: the run and its tables.
"""
