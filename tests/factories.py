"""Builders for organizations, contacts, accounts and tokens, each committed in its own context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts import counts
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.contacts.service import insert_contacts
from service.demo import seed
from service.extensions import db
from service.organizations.models import Organization, OrgKind
from service.validators.types import RosterContact, count_changes

PASSWORD = "correct horse battery"


@dataclass
class Factory:
    app: Flask
    client: FlaskClient

    def org(
        self,
        slug: str,
        *,
        kind: str = "customer",
        seat_limit: int | None = None,
        name: str | None = None,
    ) -> int:
        with self.app.app_context():
            org = Organization(
                slug=slug, name=name or slug.title(), kind=OrgKind(kind), seat_limit=seat_limit
            )
            db.session.add(org)
            db.session.commit()
            return org.id

    def contact(
        self,
        org_id: int,
        email: str,
        roles: list[str],
        *,
        status: str = "active",
        account: str | None = None,
        first_name: str = "Test",
        last_name: str = "Person",
        phone: str | None = "+44 20 7946 0000",
    ) -> int:
        """A contact; `account` ("active", "invited") also gives it a user account."""
        with self.app.app_context():
            fields = {
                "salutation": "Ms",
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                "job_title": "Tester",
                "phone": phone,
                "mobile": None,
            }
            (contact_id,) = insert_contacts(
                session=db.session,
                org_id=org_id,
                contacts=[
                    RosterContact(
                        id=None, status=ContactStatus(status), fields=fields, roles=set(roles)
                    )
                ],
            )
            if account:
                # One person, one account: a second organization's contact joins the first's.
                user = db.session.scalar(select(User).where(User.email == email))
                if user is None:
                    user = User(
                        email=email,
                        password_hash=hash_password(PASSWORD) if account == "active" else None,
                        status=UserStatus(account),
                        organization_id=org_id,
                    )
                    db.session.add(user)
                    db.session.flush()
                db.session.execute(
                    update(Contact).where(Contact.id == contact_id).values(user_id=user.id)
                )
            db.session.commit()
            return contact_id

    def change_contact(
        self,
        contact_id: int,
        *,
        grant: tuple[str, ...] = (),
        revoke: tuple[str, ...] = (),
        status: str | None = None,
    ) -> None:
        """Change a contact behind the service's back (as another writer would), keeping the
        roster's counts in step as every writer must."""
        with self.app.app_context():
            contact = db.session.get(Contact, contact_id)
            assert contact is not None
            before = RosterContact(
                id=contact_id, status=contact.status, fields={}, roles=set(contact.role_codes)
            )
            after = RosterContact(
                id=contact_id,
                status=ContactStatus(status) if status else contact.status,
                fields={},
                roles=(before.roles | set(grant)) - set(revoke),
            )
            contact.status = after.status
            contact.roles = [r for r in contact.roles if r.role_code not in revoke] + [
                ContactRole(role_code=code) for code in grant
            ]
            counts.add(
                session=db.session,
                org_id=contact.organization_id,
                changes=count_changes([(before, after)]),
            )
            db.session.commit()

    def staff(self, email: str = "reviewer@vendor.example") -> int:
        with self.app.app_context():
            vendor = db.session.scalar(select(Organization).where(Organization.slug == "vendor"))
            if vendor is None:
                vendor = Organization(slug="vendor", name="Vendor", kind=OrgKind.VENDOR)
                db.session.add(vendor)
                db.session.flush()
            user = User(
                email=email,
                password_hash=hash_password(PASSWORD),
                status=UserStatus.ACTIVE,
                is_staff=True,
                organization_id=vendor.id,
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    def token(self, email: str, password: str = PASSWORD) -> str:
        response = self.client.post("/api/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        token: str = response.get_json()["token"]
        return token

    def headers(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email, password)}"}

    def demo(self) -> None:
        with self.app.app_context():
            seed(session=db.session, password=PASSWORD)
            db.session.commit()

    def execute(self, statement: Any) -> None:
        """Run one writing statement (an UPDATE to set the scene) and commit it."""
        with self.app.app_context():
            db.session.execute(statement)
            db.session.commit()

    def scalar(self, statement: Any) -> Any:
        with self.app.app_context():
            return db.session.scalar(statement)

    def all(self, statement: Any) -> list[Any]:
        with self.app.app_context():
            return list(db.session.execute(statement).all())
