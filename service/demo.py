"""Demo data for `flask --app service seed-demo`: idempotent, rich enough to show the product."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.contacts.service import load_catalog_file
from service.organizations.models import Organization, OrgKind

ORGANIZATIONS: list[dict[str, Any]] = [
    {"slug": "vendor", "name": "Rolegate Vendor Ltd", "kind": OrgKind.VENDOR, "seat_limit": None},
    {"slug": "acme", "name": "Acme Widgets plc", "kind": OrgKind.CUSTOMER, "seat_limit": 20},
    {"slug": "buyco", "name": "BuyCo Procurement", "kind": OrgKind.PURCHASER, "seat_limit": 10},
]

STAFF = ["staff@vendor.example", "staff2@vendor.example"]

# (org, salutation, first, last, email, job title, phone, mobile, roles, status, account)
CONTACTS = [
    (
        "acme",
        "Ms",
        "Ada",
        "Ackland",
        "admin@acme.example",
        "Head of IT Services",
        "+44 20 7946 0101",
        "+44 7700 900101",
        ["cust_admin", "management"],
        "active",
        "active",
    ),
    (
        "acme",
        "Mr",
        "Boris",
        "Banks",
        "boris.banks@acme.example",
        "Finance Manager",
        "+44 20 7946 0102",
        None,
        ["financial"],
        "active",
        "active",
    ),
    (
        "acme",
        "Dr",
        "Carla",
        "Conti",
        "carla.conti@acme.example",
        "General Counsel",
        "+44 20 7946 0103",
        None,
        ["agreement", "management"],
        "active",
        "invited",
    ),
    (
        "acme",
        "Mx",
        "Devon",
        "Tran",
        "devon.tran@acme.example",
        "Platform Engineer",
        "+44 20 7946 0104",
        "+44 7700 900104",
        ["technical"],
        "active",
        None,
    ),
    (
        "acme",
        "Ms",
        "Erin",
        "Okafor",
        "erin.okafor@acme.example",
        "Operations Lead",
        "+44 20 7946 0105",
        None,
        ["technical", "agreement"],
        "active",
        None,
    ),
    (
        "acme",
        "Mr",
        "Frank",
        "Fischer",
        "frank.fischer@acme.example",
        "IT Administrator",
        "+44 20 7946 0106",
        None,
        ["cust_admin"],
        "active",
        "active",
    ),
    (
        "acme",
        "Ms",
        "Grace",
        "Gill",
        "grace.gill@acme.example",
        "Chief Operating Officer",
        "+44 20 7946 0107",
        None,
        ["management"],
        "active",
        None,
    ),
    (
        "acme",
        "Mr",
        "Hugo",
        "Hart",
        "hugo.hart@acme.example",
        "Former Support Engineer",
        "+44 20 7946 0108",
        None,
        ["technical"],
        "deactivated",
        None,
    ),
    (
        "buyco",
        "Ms",
        "Priya",
        "Patel",
        "admin@buyco.example",
        "Procurement Director",
        "+44 161 496 0201",
        None,
        ["partner_admin"],
        "active",
        "active",
    ),
    (
        "buyco",
        "Mr",
        "Quentin",
        "Quayle",
        "quentin.quayle@buyco.example",
        "Buyer",
        "+44 161 496 0202",
        None,
        ["partner_admin"],
        "active",
        None,
    ),
]


def seed(*, session: Session, password: str) -> str:
    """Create whatever of the demo is missing; what exists is left as it is."""
    load_catalog_file(session=session)
    orgs = {}
    for spec in ORGANIZATIONS:
        org = session.scalar(select(Organization).where(Organization.slug == spec["slug"]))
        if org is None:
            org = Organization(**spec)
            session.add(org)
            session.flush()
        orgs[org.slug] = org

    password_hash = hash_password(password)
    for email in STAFF:
        if _user(session, email) is None:
            session.add(
                User(
                    email=email,
                    password_hash=password_hash,
                    status=UserStatus.ACTIVE,
                    is_staff=True,
                    organization_id=orgs["vendor"].id,
                )
            )

    for (
        slug,
        salutation,
        first,
        last,
        email,
        title,
        phone,
        mobile,
        roles,
        status,
        account,
    ) in CONTACTS:
        org = orgs[slug]
        contact = session.scalar(
            select(Contact).where(
                Contact.organization_id == org.id, func.lower(Contact.email) == email
            )
        )
        if contact is None:
            contact = Contact(
                organization_id=org.id,
                salutation=salutation,
                first_name=first,
                last_name=last,
                email=email,
                job_title=title,
                phone=phone,
                mobile=mobile,
                status=ContactStatus(status),
                roles=[ContactRole(role_code=code) for code in roles],
            )
            session.add(contact)
            session.flush()
        if account and _user(session, email) is None:
            session.add(
                User(
                    email=email,
                    password_hash=password_hash if account == "active" else None,
                    status=UserStatus(account),
                    organization_id=org.id,
                    contact_id=contact.id,
                )
            )
    session.flush()
    logins = ", ".join(
        [
            "staff@vendor.example",
            "staff2@vendor.example",
            "admin@acme.example",
            "admin@buyco.example",
        ]
    )
    return f"Demo data ready. Sign in as {logins} with the DEMO_PASSWORD."


def _user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))
