"""Demo data for `flask --app service seed-demo`: idempotent, rich enough to show the product."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts.models import Contact
from service.contacts.service import insert_contacts, load_catalog_file
from service.models_base import utcnow
from service.organizations.models import Organization, OrgKind
from service.sql import insert_rows, update_rows
from service.validators.types import RosterContact
from service.vocabulary import CONTACT_FIELDS, ContactStatus

ORGANIZATIONS: list[dict[str, Any]] = [
    {"slug": "vendor", "name": "Rolegate Vendor Ltd", "kind": OrgKind.VENDOR, "seat_limit": None},
    {"slug": "acme", "name": "Acme Widgets plc", "kind": OrgKind.CUSTOMER, "seat_limit": 20},
    {"slug": "buyco", "name": "BuyCo Procurement", "kind": OrgKind.PURCHASER, "seat_limit": 10},
]

# Staff accounts and their staff-only permissions: the first one adds and deactivates staff.
STAFF = {"staff@vendor.example": ["staff:manage"], "staff2@vendor.example": []}

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
    for email, staff_permissions in STAFF.items():
        if _user(session, email) is None:
            session.add(
                User(
                    email=email,
                    password_hash=password_hash,
                    status=UserStatus.ACTIVE,
                    is_staff=True,
                    organization_id=orgs["vendor"].id,
                    staff_permissions=staff_permissions,
                )
            )

    missing: dict[str, list[tuple[RosterContact, str | None]]] = {}
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
        contact_id = session.scalar(
            select(Contact.id).where(
                Contact.organization_id == org.id, func.lower(Contact.email) == email
            )
        )
        if contact_id is None:
            fields = dict(
                zip(
                    CONTACT_FIELDS,
                    (salutation, first, last, email, None, title, phone, mobile),
                    strict=True,
                )
            )
            new = RosterContact(
                id=None, status=ContactStatus(status), fields=fields, roles=set(roles)
            )
            missing.setdefault(slug, []).append((new, account))
    for slug, contacts in missing.items():
        org = orgs[slug]
        ids = insert_contacts(session=session, org_id=org.id, contacts=[c for c, _ in contacts])
        for contact_id, (contact, account) in zip(ids, contacts, strict=True):
            if not account:
                continue
            email = str(contact.fields["email"])
            # One person, one account: a contact of a second organization joins the first's.
            user = _user(session, email)
            if user is None:
                user = User(
                    email=email,
                    password_hash=password_hash if account == "active" else None,
                    status=UserStatus(account),
                    organization_id=org.id,
                )
                session.add(user)
                session.flush()
            if not user.is_staff:
                session.execute(
                    update(Contact).where(Contact.id == contact_id).values(user_id=user.id)
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


# Names of the generated contacts of a large organization: 40 x 60 combinations, so that the
# roster sorts and searches like a real one (many share a last name, few share both).
LARGE_FIRST_NAMES = (  # noqa: SIM905 (a list of words reads best as words)
    "Ada Aisha Ben Bruno Carla Chen Dana Devon Elif Emil Farah Felix Grace Hana Hugo "
    "Ines Ivan Jana Jonas Kai Kemal Lara Leon Maya Milan Nadia Noah Olga Omar Paula "
    "Pedro Quinn Rosa Sami Sofia Tariq Una Vera Wen Yusuf"
).split()
LARGE_LAST_NAMES = (  # noqa: SIM905 (a list of words reads best as words)
    "Abbott Achebe Bauer Becker Castillo Chowdhury Dubois Duarte Eriksen Evans Fischer "
    "Fontaine Garcia Gill Hansen Hart Ibrahim Ito Jansen Jovanovic Kaur Keller Kowalski "
    "Larsen Lopez Meyer Moreau Nakamura Ng Novak Okafor Olsen Park Patel Quayle Rahman "
    "Rossi Santos Schmidt Silva Singh Tanaka Tran Udall Vargas Virtanen Wagner Weber "
    "Wong Xu Yamamoto Yilmaz Young Zhang Zimmermann Zubiri Acosta Banks Conti Okoye"
).split()
# Most generated contacts hold one of these in turn (a third of them both roles); one in twenty
# is deactivated; one in four has an account, active for one in eight and invited for the rest.
# As in a real organization, only a few are administrators or managers, who receive the emails
# of every request (`_large_roles`).
LARGE_ROLE_SETS = (("technical",), ("agreement",), ("technical", "agreement"))


def seed_large(*, session: Session, slug: str, contacts: int, password: str) -> str:
    """A customer organization with `contacts` contacts, to try the service at size and for
    the benchmarks: written set-wise (a fixed number of statements), counted, idempotent (only
    the contacts it lacks are added). Its administrator is `admin@<slug>.example`."""
    load_catalog_file(session=session)
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(slug=slug, name=f"{slug.title()} Group", kind=OrgKind.CUSTOMER)
        session.add(org)
        session.flush()
    have = session.scalar(
        select(func.count()).select_from(Contact).where(Contact.organization_id == org.id)
    )
    numbers = range(have or 0, contacts)
    ids = insert_contacts(
        session=session, org_id=org.id, contacts=[_large_contact(slug, i) for i in numbers]
    )
    password_hash = hash_password(password)
    accounts = [
        (i, contact_id, UserStatus.ACTIVE if i % 8 == 0 else UserStatus.INVITED)
        for i, contact_id in zip(numbers, ids, strict=True)
        if i % 4 == 0
    ]
    user_ids = insert_rows(
        session,
        User.__table__,
        [
            {
                "email": _large_email(slug, i),
                "password_hash": password_hash if status == UserStatus.ACTIVE else None,
                "status": status,
                "is_staff": False,
                "organization_id": org.id,
                "created_at": utcnow(),
            }
            for i, _, status in accounts
        ],
        returning_ids=True,
    )
    update_rows(
        session,
        Contact.__table__,
        [
            {"id": contact_id, "user_id": user_id}
            for (_, contact_id, _), user_id in zip(accounts, user_ids, strict=True)
        ],
        match=["id"],
    )
    session.flush()
    return (
        f"{slug}: {max(contacts, have or 0)} contacts ({len(ids)} added). "
        f"Sign in as admin@{slug}.example with the DEMO_PASSWORD."
    )


def _large_email(slug: str, number: int) -> str:
    if number == 0:
        return f"admin@{slug}.example"
    first, last = _large_name(number)
    return f"{first}.{last}.{number}@{slug}.example".lower()


def _large_name(number: int) -> tuple[str, str]:
    return (
        LARGE_FIRST_NAMES[number % len(LARGE_FIRST_NAMES)],
        LARGE_LAST_NAMES[(number * 7 + number // len(LARGE_FIRST_NAMES)) % len(LARGE_LAST_NAMES)],
    )


def _large_contact(slug: str, number: int) -> RosterContact:
    """The generated contact `number`, after the patterns above."""
    first, last = _large_name(number)
    status = ContactStatus.DEACTIVATED if number % 20 == 7 else ContactStatus.ACTIVE
    return RosterContact(
        id=None,
        status=status,
        fields={
            "salutation": ("Ms", "Mr", "Mx", "Dr")[number % 4],
            "first_name": first,
            "last_name": last,
            "email": _large_email(slug, number),
            "job_title": ("Engineer", "Analyst", "Buyer", "Counsel", "Manager")[number % 5],
            "phone": f"+44 20 7946 {number % 10000:04d}",
            "mobile": None,
        },
        roles=_large_roles(number),
    )


def _large_roles(number: int) -> set[str]:
    """The administrator (0) and a financial contact (1) first; then one administrator in
    2,500, one manager in 1,000, one financial contact in 200, and technical or agreement
    contacts for the rest."""
    if number == 0:
        return {"cust_admin", "management"}
    if number == 1 or number % 200 == 100:
        return {"financial"}
    if number % 2500 == 1250:
        return {"cust_admin", "technical"}
    if number % 1000 == 500:
        return {"management"}
    return set(LARGE_ROLE_SETS[number % len(LARGE_ROLE_SETS)])


def _user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))
