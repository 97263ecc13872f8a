"""Ids of the demo roster, looked up by email, for tests that run on `seed-demo` data."""

from __future__ import annotations

from sqlalchemy import select

from service.contacts.models import Contact


def contact_ids(factory) -> dict[str, int]:
    rows = factory.all(select(Contact.email, Contact.id))
    return {email.split("@")[0]: contact_id for email, contact_id in rows}
