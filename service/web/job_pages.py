"""The staff Jobs page: each queue's depth, the failed jobs with their error, retry and discard.

Staff only (403 for anyone else signed in). Retry and discard follow the sweep's rule that the
database says what is still to do (`service.queues`); the page shows ids and error types only.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from redis.exceptions import RedisError

from service import access
from service.errors import Conflict, NotFound
from service.extensions import db, redis_connection
from service.models_base import isoformat
from service.queues import FailedJob, discard, failed_jobs, queue_stats, retry
from service.requests.tasks import apply_ticket
from service.tickets.models import format_reference
from service.web.blueprints import bp
from service.web.session import current_actor, page


@bp.get("/jobs")
@page
def jobs():
    """Each queue's waiting, running and failed jobs; the failed ones with retry and discard."""
    access.require_staff(current_actor(), what="see the job queues")
    connection = redis_connection()
    stats: list[Any] = []
    failed: list[dict[str, Any]] = []
    unreachable = False
    if connection is not None:
        try:
            stats = queue_stats(connection)
            failed = [_row(job) for job in failed_jobs(session=db.session(), connection=connection)]
        except RedisError:
            unreachable = True
    return render_template(
        "web/jobs.html",
        stats=stats,
        failed=failed,
        in_process=connection is None,
        unreachable=unreachable,
    )


@bp.post("/jobs/<job_id>/retry")
@page
def retry_job(job_id: str):
    """Send a failed job again now, when the database still holds its work."""
    return _act(job_id, retry, "{} is queued again.")


@bp.post("/jobs/<job_id>/discard")
@page
def discard_job(job_id: str):
    """Remove a failed job, giving its pending work up for good."""
    return _act(job_id, discard, "{} is discarded.")


def _act(job_id: str, action: Any, done: str):
    access.require_staff(current_actor(), what="retry or discard jobs")
    connection = redis_connection()
    if connection is None:
        raise NotFound("No such failed job.")
    try:
        action(session=db.session(), connection=connection, job_id=job_id)
        db.session.commit()
        flash(done.format(job_id), "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("web.jobs"))


def _row(job: FailedJob) -> dict[str, Any]:
    """What the page shows of a failed job: ids, a link to its ticket, the error's type."""
    work = job.work
    ticket = None
    if work is not None and work.kind == apply_ticket.name:
        # The apply job applies a change request's ticket.
        ticket = format_reference("change_request", work.target_id)
    return {
        "job_id": job.job_id,
        "queue": job.queue,
        "kind": work.kind if work else None,
        "target_id": work.target_id if work else None,
        "ticket": ticket,
        "failed_at": isoformat(job.failed_at),
        "error": job.error,
        "request_id": job.request_id,
        "pending": job.pending,
    }
