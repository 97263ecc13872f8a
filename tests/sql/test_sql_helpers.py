"""`among` and `insert_rows`: the same results on PostgreSQL (arrays, unnest) and on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import String, func, select

from service.contacts.models import Contact, ContactRole, ContactStatus
from service.extensions import db
from service.models_base import utcnow
from service.organizations.models import Organization, OrgKind
from service.sql import among, insert_rows

contacts = Contact.__table__


def _org() -> int:
    org = Organization(slug="acme", name="Acme", kind=OrgKind.CUSTOMER)
    db.session.add(org)
    db.session.flush()
    return org.id


def _rows(org_id: int, count: int) -> list[dict]:
    now = utcnow()
    return [
        {
            "organization_id": org_id,
            "salutation": None,
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "email": f"Person{n}@Acme.Example",
            "job_title": None,
            "phone": None,
            "mobile": None,
            "status": ContactStatus.ACTIVE,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for n in range(count)
    ]


def test_insert_rows_returns_the_new_ids_in_the_order_of_the_rows(app):
    with app.app_context():
        session = db.session
        org_id = _org()
        rows = _rows(org_id, 300)
        ids = insert_rows(session, contacts, rows, returning_ids=True)
        assert len(ids) == 300 and len(set(ids)) == 300
        stored = dict(session.execute(select(Contact.id, Contact.last_name)).tuples().all())
        assert [stored[i] for i in ids] == [row["last_name"] for row in rows]
        # Rows without ids, and nothing at all.
        insert_rows(
            session, ContactRole.__table__, [{"contact_id": ids[0], "role_code": "technical"}]
        )
        assert insert_rows(session, contacts, [], returning_ids=True) == []
        assert session.scalars(select(ContactRole.role_code)).all() == ["technical"]
        # The enum and timestamp columns went through their types.
        contact = session.get(Contact, ids[-1])
        assert contact is not None and contact.status == ContactStatus.ACTIVE
        assert contact.created_at.tzinfo is not None
        session.rollback()


def test_insert_rows_refuses_rows_with_different_keys(app):
    with app.app_context():
        org_id = _org()
        rows = _rows(org_id, 2)
        del rows[1]["mobile"]
        with pytest.raises(ValueError, match="same keys"):
            insert_rows(db.session, contacts, rows)
        db.session.rollback()


def test_among_matches_exactly_the_listed_values(app):
    with app.app_context():
        session = db.session
        ids = insert_rows(session, contacts, _rows(_org(), 50), returning_ids=True)
        wanted = ids[::7]
        found = session.scalars(select(Contact.id).where(among(session, Contact.id, wanted)))
        assert sorted(found) == sorted(wanted)
        assert session.scalars(select(Contact.id).where(among(session, Contact.id, []))).all() == []
        lower = func.lower(Contact.email, type_=String)
        emails = ["person3@acme.example", "nobody@acme.example"]
        assert session.scalars(
            select(Contact.last_name).where(among(session, lower, emails))
        ).all() == ["Last3"]
        session.rollback()
