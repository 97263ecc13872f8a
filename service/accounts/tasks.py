"""The accounts' jobs: the purge's clean-up in Redis, and noticing expired invitations.

The purge records a `CounterErasure` in its own transaction and asks for `forget-counters`, like
an email: Redis being away never fails the ticket, and the sweep sends the job again until the
counters are gone.

An invitation that expires unused is found by the sweep (`pending_expired_invitations`), and
`invitation-expired-<token id>` tells the organizations' admins, once: the job marks the link
noticed in the transaction that records their emails.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.accounts import invitations, throttle
from service.accounts.models import CounterErasure
from service.extensions import db
from service.jobs import MAINTENANCE_QUEUE, Work, finds_pending_work, job


@job(MAINTENANCE_QUEUE, name="forget-counters", timeout=60)
def forget_counters(erasure_id: int) -> str:
    """Drop the counters a purge named, then the record of them; a second run finds none."""
    erasure = db.session.get(CounterErasure, erasure_id)
    if erasure is None:
        return "nothing to do"
    accounts = list(erasure.account_keys)
    db.session.rollback()  # nothing is held open while Redis is asked
    throttle.forget_accounts(accounts)
    db.session.execute(delete(CounterErasure).where(CounterErasure.id == erasure_id))
    db.session.commit()
    return "done"


def record(*, session: Session, emails: list[str]) -> None:
    """After this transaction commits, drop the counters of these addresses' accounts."""
    if not emails:
        return
    erasure = CounterErasure(account_keys=sorted({throttle.account_key(e) for e in emails}))
    session.add(erasure)
    session.flush()
    forget_counters.after_commit(session, erasure.id)


@finds_pending_work
def pending_counter_erasures(session: Session) -> list[Work]:
    """Every recorded erasure waits for its job."""
    ids = session.scalars(select(CounterErasure.id).order_by(CounterErasure.id))
    return [forget_counters.work(erasure_id) for erasure_id in ids]


@job(MAINTENANCE_QUEUE, name="invitation-expired", timeout=60)
def notice_expired_invitation(token_id: int) -> str:
    """Tell the admins that an invitation expired unused; a second run finds it noticed."""
    recorded = invitations.notice_expired(session=db.session(), token_id=token_id)
    db.session.commit()
    return "done" if recorded else "nothing to do"


@finds_pending_work
def pending_expired_invitations(session: Session) -> list[Work]:
    """Every invitation that expired unused and was not noticed yet."""
    return [
        notice_expired_invitation.work(token_id)
        for token_id in invitations.expired_unnoticed(session=session)
    ]
