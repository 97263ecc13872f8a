"""`invitation_expired`: an invitation that expires unused is found by the sweep and told to the
organization's admins once (the role catalog lists the email for `cust_admin`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service.accounts.models import AccountToken, TokenPurpose
from service.contacts.models import Contact
from service.jobs import resend_pending
from service.models_base import utcnow
from service.notifications import render
from tests.accounts.test_every_contact_an_account import PAT, acme_id, mails_to
from tests.jobs import run_jobs
from tests.tickets.support import OTHER_ADMIN, REQUESTER


def sweep(app) -> None:
    with app.app_context():
        resend_pending()
    run_jobs(app)


def expire_links(factory, contact_id: int) -> None:
    """Let the contact's activation links run out, as an hour going by would."""
    user_id = factory.scalar(select(Contact.user_id).where(Contact.id == contact_id))
    factory.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id)
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )


def test_an_invitation_that_expires_unused_is_told_to_the_admins_once(app, client, factory, smtp):
    factory.demo()
    contact_id = factory.contact(acme_id(factory), PAT, ["technical"], first_name="Pat")
    admin = factory.headers(REQUESTER)
    sent = client.post(f"/api/orgs/acme/invitations/{contact_id}/invite", headers=admin)
    assert sent.status_code == 202
    run_jobs(app)
    sweep(app)
    assert mails_to(smtp, REQUESTER) == [], "nothing while the link still works"

    expire_links(factory, contact_id)
    sweep(app)
    sweep(app)
    for address in (REQUESTER, OTHER_ADMIN):  # every active holder of cust_admin
        (notice,) = mails_to(smtp, address)
        assert "An invitation to Rolegate expired: Pat Person (Acme Widgets plc)" in notice
        assert "/orgs/acme/invitations" in notice
    assert mails_to(smtp, PAT)[1:] == [], "the invited person is not told"

    # A new link that expires unused is a new invitation: told again, once.
    assert client.post(f"/api/orgs/acme/invitations/{contact_id}/resend", headers=admin)
    run_jobs(app)
    expire_links(factory, contact_id)
    sweep(app)
    assert len(mails_to(smtp, REQUESTER)) == 2


def test_used_or_revoked_invitations_are_not_told(app, client, factory, smtp):
    factory.demo()
    used = factory.contact(acme_id(factory), PAT, ["technical"])
    revoked = factory.contact(acme_id(factory), "rev@acme.example", ["technical"])
    admin = factory.headers(REQUESTER)
    for contact_id in (used, revoked):
        client.post(f"/api/orgs/acme/invitations/{contact_id}/invite", headers=admin)
    run_jobs(app)
    client.post(f"/api/orgs/acme/invitations/{revoked}/revoke", headers=admin)
    user_id = factory.scalar(select(Contact.user_id).where(Contact.id == used))
    factory.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == TokenPurpose.ACTIVATION,
        )
        .values(used_at=utcnow())
    )
    expire_links(factory, used)
    expire_links(factory, revoked)
    sweep(app)
    assert mails_to(smtp, REQUESTER) == []


def test_every_email_the_service_sends_has_its_subject_text_and_html():
    for template in sorted(render.TEMPLATES):
        for part in ("subject.txt", "txt", "html"):
            assert (render.TEMPLATE_DIR / f"{template}.{part}").is_file(), (template, part)
