"""The migrations, on the suite's own database (SQLite or PostgreSQL): the schema they build is the
one the models describe, and a database of the first release, with rows, upgrades to this one with
its data carried over and backfilled, and downgrades back to it.

The first release shipped the migrations up to RELEASE_1; everything after it is one migration
(migrations/versions/*_second_release.py). The test moves the session's database down and up
again; it ends at head, so the tests after it see the schema they expect.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, text

from service.contacts import counts
from service.extensions import db
from service.validators.types import CountKey

RELEASE_1 = "5b2f7c9e41d0"


def _index_names(connection: Any) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return set(connection.execute(text(query)).scalars())


def _drift() -> tuple[list[Any], set[str]]:
    """What `flask db check` would change, and the models' indexes the database lacks: on SQLite
    autogenerate cannot compare indexes on expressions, and SQLite's copies of a table lose them."""
    with db.engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        changes = compare_metadata(MigrationContext.configure(connection), db.metadata)
        declared = {index.name for table in db.metadata.tables.values() for index in table.indexes}
        return changes, {str(name) for name in declared} - _index_names(connection)


def test_the_migrations_build_what_the_models_describe(app: Flask):
    """Among them the case-insensitive unique emails of accounts and of active contacts, which
    SQLite's copies of those tables used to drop."""
    with app.app_context():
        assert _drift() == ([], set())


# Foreign keys left without an index, each because its parent row is never deleted and no query
# looks rows up by it: organizations are closed, tickets, change requests and accounts are kept.
# Every other foreign key has an index that starts with its column: deleting a parent row (a
# contact, a role, a purge's rows) then finds the rows that name it without scanning their table.
# (SQLite checks a foreign key row by row: an unindexed `contacts.assistant_id` made emptying a
# 50,000-contact roster take two minutes.)
UNINDEXED_FOREIGN_KEYS = {
    "change_requests.acting_organization_id",
    "change_requests.replaces_id",
    "change_request_items.target_organization_id",
    "delegations.granted_by_ticket_id",
    "delegations.revoked_by_ticket_id",
    "ticket_approvals.staff_id",
    "ticket_comments.author_id",
    "ticket_comments.author_organization_id",
    "ticket_events.actor_id",
    "ticket_events.actor_organization_id",
    "tickets.acting_organization_id",
    "webhook_endpoints.created_by_id",
    "webhook_events.delegate_organization_id",
}


def test_every_foreign_key_has_an_index_or_a_reason(app: Flask):
    unindexed = set()
    for table in db.metadata.sorted_tables:
        leading = {index.expressions[0] for index in table.indexes if index.expressions}
        leading |= {
            constraint.columns[0]
            for constraint in table.constraints
            if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
            and constraint.columns
        }
        names = {getattr(column, "name", None) for column in leading}
        unindexed |= {
            f"{table.name}.{key.parent.name}"
            for key in table.foreign_keys
            if key.parent.name not in names
        }
    assert unindexed == UNINDEXED_FOREIGN_KEYS


# Rows as the first release wrote them: two organizations, contacts (one archived), an account
# linked to its contact, a batch of every kind of count, a ticket, a role that manages contacts,
# and activation links, one expired and one still valid.
RELEASE_1_ROWS = (
    "INSERT INTO organizations (id, slug, name, kind, roster_version, created_at) VALUES "
    "(1, 'acme', 'Acme', 'customer', 1, '2026-01-01'), "
    "(2, 'umbrella', 'U', 'customer', 1, '2026-01-01')",
    "INSERT INTO roles (code, name, description, audience, permissions, emails, required, "
    "incompatible_with, position) VALUES "
    "('financial', 'F', '', 'customer', '[]', '[]', TRUE, '[]', 0), "
    "('cust_admin', 'A', '', 'customer', '[\"contacts:manage\"]', '[]', FALSE, '[]', 1)",
    "INSERT INTO contacts (id, organization_id, email, status, version, created_at, updated_at) "
    "VALUES (1, 1, 'a@x.example', 'active', 1, '2026-01-01', '2026-01-01'), "
    "(2, 1, 'b@x.example', 'active', 1, '2026-01-01', '2026-01-01'), "
    "(3, 1, 'c@x.example', 'deactivated', 1, '2026-01-01', '2026-01-01'), "
    "(4, 1, NULL, 'archived', 1, '2026-01-01', '2026-01-01'), "
    "(5, 2, 'e@x.example', 'active', 1, '2026-01-01', '2026-01-01')",
    "INSERT INTO contact_roles (contact_id, role_code) VALUES "
    "(1, 'financial'), (1, 'cust_admin'), (3, 'financial'), (5, 'financial')",
    "INSERT INTO users (id, email, status, is_staff, organization_id, contact_id, created_at) "
    "VALUES (7, 'a@x.example', 'active', FALSE, 1, 1, '2026-01-01')",
    "INSERT INTO access_tokens (id, user_id, token_hash, created_at, expires_at) "
    "VALUES (1, 7, 'h', '2026-01-01', '2999-01-01')",
    "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at) VALUES "
    "(1, 7, 'activation', 'old', '2026-01-01', '2026-01-02'), "
    "(2, 7, 'activation', 'new', '2026-01-01', '2999-01-01')",
    "INSERT INTO change_requests (id, organization_id, requester_id, base_version, warnings, "
    "created_at) VALUES (1, 1, 7, 1, '[]', '2026-01-01')",
    "INSERT INTO change_request_items (id, change_request_id, position, op, contact_id, "
    "role_code, payload) VALUES "
    "(1, 1, 0, 'add_contact', NULL, NULL, '{}'), "
    "(2, 1, 1, 'delete_contact', 2, NULL, '{}'), "
    "(3, 1, 2, 'revoke_role', 3, 'financial', '{}'), "
    "(4, 1, 3, 'grant_role', 3, 'cust_admin', '{}'), "
    "(5, 1, 4, 'grant_delegate', NULL, NULL, '{}')",
    "INSERT INTO tickets (id, kind, organization_id, change_request_id, requester_id, status, "
    "created_at, updated_at) VALUES (1, 'change_request', 1, 1, 7, 'open', '2026-01-01', "
    "'2026-01-01')",
)


def _rows(query: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.session.execute(text(query))]


def test_a_first_release_database_upgrades_with_its_data_and_downgrades(app: Flask):
    with app.app_context():
        db.session.remove()
        downgrade(revision=RELEASE_1)
        with db.engine.begin() as connection:
            for table in ("contact_roles", "roles"):
                connection.execute(text(f"DELETE FROM {table}"))
            for statement in RELEASE_1_ROWS:
                connection.execute(text(statement))
        upgrade()

        # Each contact names its account; nothing that refers to contacts, accounts or change
        # requests was lost when SQLite copied those tables.
        assert _rows("SELECT id, user_id FROM contacts ORDER BY id") == [
            (1, 7),
            (2, None),
            (3, None),
            (4, None),
            (5, None),
        ]
        assert _rows("SELECT count(*) FROM contact_roles") == [(4,)]
        assert _rows("SELECT kind FROM access_tokens") == [("bearer",)]
        assert _rows("SELECT count(*) FROM change_request_items") == [(5,)]
        assert _rows("SELECT change_request_id, revision FROM tickets") == [(1, 1)]
        assert _rows(
            "SELECT item_count, adds, deletions, required_role_removals, delegations, revision "
            "FROM change_requests"
        ) == [(5, 1, 1, 1, 1, 1)]
        # Counted roster, delegations:edit beside contacts:manage, old expiries noticed.
        assert counts.check(session=db.session) == []
        assert dict(counts.read(session=db.session, org_id=1).counts) == {
            CountKey("active"): 2,
            CountKey("deactivated"): 1,
            CountKey("active", "financial"): 1,
            CountKey("active", "cust_admin"): 1,
            CountKey("deactivated", "financial"): 1,
        }
        permissions = db.session.execute(
            text("SELECT permissions FROM roles WHERE code = 'cust_admin'")
        ).scalar_one()
        if isinstance(permissions, str):
            permissions = json.loads(permissions)  # SQLite hands JSON back as text
        assert permissions == ["contacts:manage", "delegations:edit"]
        assert _rows("SELECT id FROM account_tokens WHERE expiry_noticed_at IS NOT NULL") == [(1,)]
        # The open ticket is due as its organization's plan says; the catalog has a version.
        assert _rows(
            "SELECT count(*) FROM tickets WHERE first_response_due IS NOT NULL "
            "AND resolution_due IS NOT NULL AND first_responded_at IS NULL"
        ) == [(1,)]
        assert _rows("SELECT version FROM role_catalog_version") == [("initial",)]
        db.session.remove()

        # Down again: the account is linked to its contact as the first release links it.
        downgrade(revision=RELEASE_1)
        assert _rows("SELECT id, contact_id FROM users") == [(7, 1)]
        assert _rows("SELECT count(*) FROM contact_roles") == [(4,)]
        assert _rows("SELECT count(*) FROM change_request_items") == [(5,)]
        db.session.remove()
        upgrade()
        assert _drift() == ([], set())
