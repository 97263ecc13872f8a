"""The service's Prometheus metrics, counted by every web and worker process (prometheus_client).

Counters and histograms live here, one definition each, and are counted where things happen:
requests and rate-limit refusals (`service.telemetry`), jobs and the sweep (`service.jobs`),
emails (`service.notifications`). What is read at
scrape time instead (tickets by status, queue depths, pending emails) is collected by
`service.monitoring` from the database and Redis, never counted in a process.

Several processes (gunicorn's workers, RQ workers) count at once in production: with
`PROMETHEUS_MULTIPROC_DIR` set in their environment, prometheus_client writes each process's
values to files in that directory and `scrape_registry()` adds them all up. The variable is
read when prometheus_client is first imported, so it belongs in the environment of every
process (README, "Running in production"), never in code. Without it (the demo, the tests),
each process counts in memory.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

HTTP_REQUESTS = Counter(
    "rolegate_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "rolegate_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
)
JOB_RUNS = Counter(
    "rolegate_jobs",
    "Job runs by kind (apply, email, relay…) and outcome (the job's answer, or `error`).",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "rolegate_job_duration_seconds",
    "Time a job ran, by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
JOB_RETRIES = Counter(
    "rolegate_job_retries",
    "Job runs that were a retry of an earlier failed run, by kind.",
    ["kind"],
)
RELAY_RESENT = Counter(
    "rolegate_relay_resent_jobs",
    "Jobs the sweep found in the database but not in Redis and sent again, by kind.",
    ["kind"],
)
EMAILS = Counter(
    "rolegate_emails",
    "Emails delivered (`sent`) or given up (`failed`).",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "rolegate_webhook_attempts",
    "Webhook delivery attempts: `delivered`, `failed` (to be retried) or `given up`.",
    ["outcome"],
)
RETENTION_REDUCED = Counter(
    "rolegate_retention_reduced",
    "Finished tickets reduced after the retention period, and what that erased: `tickets`, "
    "`items` (submitted details), `texts` (notes, reasons, comments), `emails` (addresses).",
    ["what"],
)
REMINDERS_SENT = Counter(
    "rolegate_reminders_sent",
    "Reminders sent by the reminder job, by kind: `first_response` and `resolution` (to the "
    "assignee or the review queue, before a target is breached), `awaiting_reply` (to the "
    "requester of a ticket waiting on them).",
    ["kind"],
)
TICKETS_AUTO_CLOSED = Counter(
    "rolegate_tickets_auto_closed",
    "Tickets the reminder job cancelled because the customer did not answer in time.",
)
RATE_LIMITED = Counter(
    "rolegate_rate_limit_refusals",
    "Requests refused by a rate limit (answered 429), by route template.",
    ["route"],
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry() -> CollectorRegistry:
    """The registry to expose: every process's values when several count, this one's if not."""
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry
