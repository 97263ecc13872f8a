"""`column_in` and `insert_rows`: the same results on PostgreSQL (arrays, unnest) and on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import String, func, select

from service.contacts.models import Contact, ContactRole, ContactStatus
from service.extensions import db
from service.models_base import utcnow
from service.organizations.models import Organization, OrgKind
from service.sql import column_in, delete_rows, insert_rows, update_rows

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
        found = session.scalars(select(Contact.id).where(column_in(session, Contact.id, wanted)))
        assert sorted(found) == sorted(wanted)
        assert (
            session.scalars(select(Contact.id).where(column_in(session, Contact.id, []))).all()
            == []
        )
        lower = func.lower(Contact.email, type_=String)
        emails = ["person3@acme.example", "nobody@acme.example"]
        assert session.scalars(
            select(Contact.last_name).where(column_in(session, lower, emails))
        ).all() == ["Last3"]
        session.rollback()


def test_update_rows_and_delete_rows_touch_exactly_the_matching_rows(app):
    with app.app_context():
        session = db.session
        ids = insert_rows(session, contacts, _rows(_org(), 6), returning_ids=True)
        roles = ContactRole.__table__
        insert_rows(
            session,
            roles,
            [
                {"contact_id": cid, "role_code": code}
                for cid in ids
                for code in ("technical", "agreement")
            ],
        )
        update_rows(
            session,
            contacts,
            [{"id": ids[0], "job_title": "Lead"}, {"id": ids[2], "job_title": None}],
            match=["id"],
            also={"version": contacts.c.version + 1},
            where=[contacts.c.status == ContactStatus.ACTIVE],
        )
        rows = dict(
            session.execute(select(Contact.id, Contact.version).where(Contact.version > 1))
            .tuples()
            .all()
        )
        assert rows == {ids[0]: 2, ids[2]: 2}
        assert session.get(Contact, ids[0]).job_title == "Lead"
        delete_rows(
            session,
            roles,
            [
                {"contact_id": ids[1], "role_code": "agreement"},
                {"contact_id": ids[3], "role_code": "technical"},
            ],
        )
        left = set(session.execute(select(roles.c.contact_id, roles.c.role_code)).tuples().all())
        assert (ids[1], "agreement") not in left and (ids[3], "technical") not in left
        assert (ids[1], "technical") in left and (ids[3], "agreement") in left
        assert len(left) == 10
        session.rollback()
