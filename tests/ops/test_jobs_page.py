"""The staff Jobs page: queues and failed jobs by ids, retry and discard through the sweep's rules,
and no one but staff."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.jobs import resend_pending
from service.notifications.models import Email, EmailStatus
from tests.jobs import fail_job, run_jobs
from tests.tickets.support import OUTSIDER, REQUESTER, STAFF
from tests.web.forms import csrf_token, sign_in


def test_the_jobs_page_is_for_staff_only(client, factory):
    factory.demo()
    assert client.get("/jobs").status_code == 302  # to the sign-in page
    assert "/login" in client.get("/jobs").headers["Location"]
    for email in (REQUESTER, OUTSIDER):
        assert sign_in(client, email).status_code == 302
        assert client.get("/jobs").status_code == 403, email
        token = csrf_token(client, "/account")
        for action in ("retry", "discard"):
            refused = client.post(f"/jobs/email-1/{action}", data={"csrf_token": token})
            assert refused.status_code == 403, (email, action)
        client.post("/logout", data={"csrf_token": token})
    assert client.post("/jobs/email-1/retry").status_code in (302, 400)
    assert sign_in(client, STAFF).status_code == 302
    page = client.get("/jobs")
    assert page.status_code == 200
    assert 'href="/jobs" aria-current="page"' in page.get_data(as_text=True)
    token = csrf_token(client, "/jobs")
    assert client.post("/jobs/email-999/retry", data={"csrf_token": token}).status_code == 404
    assert client.post("/jobs/nothing/discard", data={"csrf_token": token}).status_code == 404
    # A form without its CSRF token is refused, for staff too.
    assert client.post("/jobs/email-999/retry").status_code == 400


@pytest.fixture
def failed_email(app, client, factory, start_smtp):
    """A password-reset email whose job failed, as a worker leaves it when the database was away
    mid-job: in RQ's failed registry with the error's type, out of the queue, the email pending.

    (A refused address no longer fails the job: the attempt is recorded with the email, which
    waits for its backoff, and the sweep sends it again.)"""
    factory.demo()
    inbox = start_smtp()
    assert client.post("/api/password-reset", json={"email": REQUESTER}).status_code == 202
    email_id = factory.scalar(select(Email.id).where(Email.template == "password_reset"))
    job_id = f"email-{email_id}"
    fail_job(app, job_id, "OperationalError")
    assert sign_in(client, STAFF).status_code == 302
    return {"inbox": inbox, "email_id": email_id, "job_id": job_id}


@pytest.mark.postgres_only
def test_a_failed_job_is_shown_by_ids_and_retried_when_its_work_is_still_to_do(
    app, client, factory, failed_email
):
    html = client.get("/jobs").get_data(as_text=True)
    job_id = failed_email["job_id"]
    assert f"<code>{job_id}</code>" in html
    assert "<code>OperationalError</code>" in html
    assert "Still to do" in html
    assert REQUESTER not in html
    queues = re.search(r'<table class="data-table" id="queues">.*?</table>', html, re.S).group(0)
    assert re.search(r"<th scope=\"row\">email</th>\s*<td>0</td>", queues)

    token = csrf_token(client, "/jobs")
    retried = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 302
    assert f"{job_id} is queued again." in client.get("/jobs").get_data(as_text=True)
    run_jobs(app)
    status = factory.scalar(select(Email.status).where(Email.id == failed_email["email_id"]))
    assert status == EmailStatus.SENT
    assert REQUESTER in {message["To"] for message in failed_email["inbox"].messages()}
    # Done: nothing is left to retry.
    assert client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}).status_code == 404


@pytest.mark.postgres_only
def test_discarding_a_failed_job_gives_its_work_up_so_the_sweep_leaves_it(
    app, client, factory, failed_email
):
    job_id = failed_email["job_id"]
    token = csrf_token(client, "/jobs")
    assert client.post(f"/jobs/{job_id}/discard", data={"csrf_token": token}).status_code == 302
    html = client.get("/jobs").get_data(as_text=True)
    assert f"{job_id} is discarded." in html and f"<code>{job_id}</code>" not in html
    email = factory.scalar(select(Email).where(Email.id == failed_email["email_id"]))
    assert email.status == EmailStatus.FAILED and email.last_error.startswith("discarded")
    with app.app_context():
        assert resend_pending() == 0
    # Given up: a retry finds nothing to retry.
    assert client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}).status_code == 404
