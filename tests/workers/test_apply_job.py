"""The apply job: all or nothing, and a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from service.accounts.models import User, UserStatus
from service.contacts.models import Contact
from service.notifications.models import Email
from service.organizations.models import Organization
from service.requests.tasks import apply_ticket
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, new_contact, raise_ticket


def roster_version(factory):
    return factory.scalar(select(Organization.roster_version).where(Organization.slug == "acme"))


def test_a_second_run_of_a_finished_apply_changes_nothing(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    run_jobs(app)
    ticket_id = int(reference.split("-")[1])
    counts = (
        roster_version(factory),
        factory.scalar(select(func.count()).select_from(Contact)),
        factory.scalar(select(func.count()).select_from(Email)),
    )
    assert counts[0] == 2
    with app.app_context():
        assert apply_ticket(ticket_id) == "nothing to do"
    assert counts == (
        roster_version(factory),
        factory.scalar(select(func.count()).select_from(Contact)),
        factory.scalar(select(func.count()).select_from(Email)),
    )


def test_a_batch_that_no_longer_fits_changes_nothing_at_all(app, client, factory):
    factory.demo()
    ids = contact_ids(factory)
    changes = [
        new_contact(),
        {"op": "update_contact", "contact_id": ids["devon.tran"], "fields": {"job_title": "CTO"}},
        {"op": "deactivate_contact", "contact_id": ids["grace.gill"]},
    ]
    reference = raise_ticket(client, factory.headers(REQUESTER), changes)
    # Grace is deactivated some other way before the apply runs: the whole batch must wait.
    factory.change_contact(ids["grace.gill"], status="deactivated")
    before = factory.scalar(select(func.count()).select_from(Contact))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    run_jobs(app)
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert detail["status"] == "failed"
    assert "status_unchanged" in detail["failure"]["message"]
    assert factory.scalar(select(func.count()).select_from(Contact)) == before
    assert factory.scalar(select(Contact.job_title).where(Contact.id == ids["devon.tran"])) != "CTO"
    assert roster_version(factory) == 1


def test_a_deactivated_contact_can_no_longer_sign_in_or_use_its_token(app, client, factory):
    factory.demo()
    ids = contact_ids(factory)
    victim = factory.headers("frank.fischer@acme.example")
    assert client.get("/api/me", headers=victim).status_code == 200
    changes = [{"op": "deactivate_contact", "contact_id": ids["frank.fischer"]}]
    reference = raise_ticket(client, factory.headers(REQUESTER), changes)
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF2))
    run_jobs(app)
    assert client.get("/api/me", headers=victim).status_code == 401
    signed_in = client.post(
        "/api/auth/token",
        json={"email": "frank.fischer@acme.example", "password": "correct horse battery"},
    )
    assert signed_in.status_code == 401
    status = factory.scalar(
        select(User.status)
        .join(Contact, Contact.user_id == User.id)
        .where(Contact.id == ids["frank.fischer"])
    )
    assert status == UserStatus.DEACTIVATED
