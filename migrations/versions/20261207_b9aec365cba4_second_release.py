"""the second release: every change of the schema since the first, with the data each one needs

Revision ID: b9aec365cba4
Revises: 5b2f7c9e41d0
Create Date: 2026-11-27 23:30:00.000000

The first release shipped the four 20261123 migrations, so a production database is at
5b2f7c9e41d0 (or at this revision). This one migration replaces the seventeen that were written
during the second release; it keeps the id of the last of them, so that a database upgraded
during development is at head already, and migrations written on top of it stay valid.

What changes, in order, with its data:
- access tokens are bearer tokens or web sessions: every existing row is a bearer token;
- each contact names the account of its person (`contacts.user_id`, from `users.contact_id`),
  so one account may be a contact of any number of organizations; contacts carry an alternate
  email (personal data, purged) and an assistant (another contact of the organization); the
  roster is read in order from an index;
- the roster's maintained counts (service/contacts/counts.py), counted here for the contacts
  that exist;
- staff accounts list their own permissions; organizations carry their required fields (NULL:
  the default) and when they were closed;
- an email's next attempt is kept with the email; a purge records the rate-limit counters a job
  drops from Redis after commit;
- a change request counts its batch's kinds of change (counted here for the stored batches),
  knows its revision and the one it replaced; a ticket counts its revisions and when it was
  reduced to what the audit needs; staff save named views of the queue;
- a role may grant everything but its `exceptions` (`grants_all`), and every role that manages
  contacts gets `delegations:edit`, so nobody who could delegate before loses it;
- signed webhooks: endpoints, their subscriptions, the outbox of events, deliveries;
- an expired invitation is told to the organization's admins once: the ones that expired
  before this release are marked noticed, so that upgrading sends no burst of old news;
- the role catalog's version, for each process's cached catalog;
- service levels: every organization is on the default plan (`standard`) until staff choose
  another, with its own targets optionally. Unfinished tickets get their due times as if their
  organization's plan had applied when they opened: `created_at` plus the plan's targets in
  business hours on the configured calendar. The first response is the first event that staff's
  responses record (a question, an approval, a rejection); a ticket that waits on the customer
  is paused since its last change (`service_levels_backfill`; at most one unfinished ticket per
  organization and kind, so it reads few rows);
- each reminder sent, and each ticket closed for want of an answer, is recorded once; tickets
  waiting on the customer are indexed by their last change.

SQLite alters a table by copying it (batch mode). The copy cannot carry indexes on expressions
(SQLite's reflection cannot read them), and dropping the old table would, with foreign keys
enforced, cascade into the rows that refer to it: `_rebuilding` turns foreign keys off for the
copy and makes the table's expression indexes again after it.
"""
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from service import business_hours


# revision identifiers, used by Alembic.
revision = 'b9aec365cba4'
down_revision = '5b2f7c9e41d0'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ROLES = sa.table('roles', sa.column('code', sa.String), sa.column('permissions', JSON))

# The indexes on expressions of the tables this migration alters: (name, columns, unique,
# partial on). SQLite's copy of a table cannot carry them.
EXPRESSION_INDEXES = {
    'users': [('uq_users_email', ['lower(email)'], True, 'email IS NOT NULL')],
    'contacts': [
        ('uq_contacts_active_email', ['organization_id', 'lower(email)'], True, "status = 'active'"),
        (
            'ix_contacts_roster_order',
            ['organization_id', "lower(coalesce(last_name, ''))",
             "lower(coalesce(first_name, ''))", 'id'],
            False,
            "status != 'archived'",
        ),
    ],
    'emails': [('ix_emails_recipient_lower', ['lower(recipient)'], False, None)],
}
ROSTER_ORDER = EXPRESSION_INDEXES['contacts'][1]

UNFINISHED = "status IN ('applying', 'approved', 'awaiting_customer', 'failed', 'open')"
FIRST_RESPONSE_PENDING = f"first_responded_at IS NULL AND {UNFINISHED}"
# The ticket's indexes on a condition: (name, column, rows).
TICKET_INDEXES = [
    ('ix_tickets_retention_due', 'updated_at', 'reduced_at IS NULL'),
    ('ix_tickets_first_response_due', 'first_response_due', FIRST_RESPONSE_PENDING),
    ('ix_tickets_resolution_due', 'resolution_due', UNFINISHED),
]

# A change request's counts of its batch, each the items that match a condition.
_ITEMS = "SELECT count(*) FROM change_request_items i WHERE i.change_request_id = change_requests.id"
BATCH_COUNTS = {
    'item_count': 'TRUE',
    'adds': "i.op = 'add_contact'",
    'deletions': "i.op = 'delete_contact'",
    'required_role_removals': (
        "i.op = 'revoke_role' AND i.role_code IN (SELECT code FROM roles r WHERE r.required)"
    ),
    'delegations': "i.op IN ('grant_delegate', 'revoke_delegate')",
}


def _create_index(table, name, columns, unique, where):
    partial = {} if where is None else {
        'postgresql_where': sa.text(where), 'sqlite_where': sa.text(where)
    }
    op.create_index(
        name, table, [sa.text(c) if '(' in c else c for c in columns], unique=unique, **partial
    )


def _sqlite_foreign_keys(on):
    # The pragma is ignored inside a transaction: end the one the driver holds first.
    driver = op.get_bind().connection.dbapi_connection
    driver.commit()
    driver.execute('PRAGMA foreign_keys=%s' % ('ON' if on else 'OFF'))


@contextmanager
def _rebuilding(table, keep=()):
    """A batch alteration of `table`. Where SQLite copies the table, the copy keeps the rows
    that refer to it and the table's expression indexes (those named in `keep`, or all)."""
    indexes = [i for i in EXPRESSION_INDEXES.get(table, []) if not keep or i[0] in keep]
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        _sqlite_foreign_keys(False)
        for name, *_ in indexes:
            op.drop_index(name, table_name=table)
    with op.batch_alter_table(table, schema=None) as batch_op:
        yield batch_op
    if sqlite:
        for index in indexes:
            _create_index(table, *index)
        _sqlite_foreign_keys(True)


def _when(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id():
    return sa.Column('id', sa.Integer(), nullable=False)


def _status(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _fk(table, column, target, **options):
    """`table.column` refers to `target` ('table.column'), named as the models' convention does."""
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"), **options
    )


def _indexes(table, *columns):
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade():
    with _rebuilding('access_tokens') as batch_op:
        batch_op.add_column(
            sa.Column('kind', _status('session_kind', 'bearer', 'web'), server_default='bearer',
                      nullable=False)
        )

    # Contacts name their account; the roster order index is made after the copy.
    with _rebuilding('contacts', keep=['uq_contacts_active_email']) as batch_op:
        batch_op.add_column(sa.Column('alternate_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('assistant_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_user_id'), ['user_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_contacts_assistant_id'), ['assistant_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_contacts_assistant_id_contacts'), 'contacts', ['assistant_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_contacts_user_id_users'), 'users', ['user_id'], ['id']
        )
    op.execute(
        "UPDATE contacts SET user_id = "
        "(SELECT users.id FROM users WHERE users.contact_id = contacts.id)"
    )
    _create_index('contacts', *ROSTER_ORDER)

    op.create_table('roster_counts',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('status', _status('roster_count_status', 'active', 'deactivated', 'archived'), nullable=False),
    sa.Column('role_code', sa.String(length=50), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    _fk('roster_counts', 'organization_id', 'organizations.id'),
    sa.PrimaryKeyConstraint('organization_id', 'status', 'role_code', name=op.f('pk_roster_counts'))
    )
    # Count the contacts that exist: the contacts themselves (role_code ''), then the holders
    # of each role.
    op.execute(
        "INSERT INTO roster_counts (organization_id, status, role_code, n) "
        "SELECT organization_id, status, '', count(*) FROM contacts "
        "WHERE status != 'archived' GROUP BY organization_id, status"
    )
    op.execute(
        "INSERT INTO roster_counts (organization_id, status, role_code, n) "
        "SELECT c.organization_id, c.status, r.role_code, count(*) "
        "FROM contacts c JOIN contact_roles r ON r.contact_id = c.id "
        "WHERE c.status != 'archived' GROUP BY c.organization_id, c.status, r.role_code"
    )

    with _rebuilding('users') as batch_op:
        batch_op.add_column(
            sa.Column('staff_permissions', JSON, server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.drop_constraint(batch_op.f('uq_users_contact_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_users_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_column('contact_id')

    op.create_table('counter_erasures',
    _id(),
    sa.Column('account_keys', JSON, nullable=False),
    _when('created_at', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_erasures'))
    )
    with _rebuilding('emails') as batch_op:
        batch_op.add_column(_when('next_attempt_at'))

    with _rebuilding('organizations') as batch_op:
        batch_op.add_column(sa.Column('required_fields', JSON, nullable=True))
        batch_op.add_column(_when('closed_at'))
        batch_op.add_column(
            sa.Column('plan', sa.String(length=40), server_default='standard', nullable=False)
        )
        batch_op.add_column(sa.Column('sla_first_response_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_resolution_hours', sa.Integer(), nullable=True))

    with _rebuilding('change_requests') as batch_op:
        for name in BATCH_COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_change_requests_replaces_id_change_requests'),
            'change_requests',
            ['replaces_id'],
            ['id'],
        )
    op.execute(
        "UPDATE change_requests SET "
        + ", ".join(f"{name} = ({_ITEMS} AND {where})" for name, where in BATCH_COUNTS.items())
    )
    op.create_table('saved_views',
    _id(),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', JSON, nullable=False),
    _when('created_at', nullable=False),
    _fk('saved_views', 'user_id', 'users.id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_views_user_id'))
    )
    with _rebuilding('tickets') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        for name in ('reduced_at', 'first_response_due', 'resolution_due', 'first_responded_at',
                     'sla_paused_at'):
            batch_op.add_column(_when(name))
    for name, column, where in TICKET_INDEXES:
        _create_index('tickets', name, [column], False, where)

    # Plain ADD COLUMN (SQLite has it): no copy of `roles`, which contact_roles refers to.
    op.add_column('roles', sa.Column('grants_all', sa.Boolean(), server_default='0', nullable=False))
    op.add_column(
        'roles', sa.Column('exceptions', JSON, server_default=sa.text("'[]'"), nullable=False)
    )
    connection = op.get_bind()
    for code, permissions in connection.execute(sa.select(ROLES.c.code, ROLES.c.permissions)):
        listed = list(permissions or [])
        if 'contacts:manage' in listed and 'delegations:edit' not in listed:
            connection.execute(
                ROLES.update()
                .where(ROLES.c.code == code)
                .values(permissions=sorted([*listed, 'delegations:edit']))
            )

    op.create_table('webhook_endpoints',
    _id(),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('status', _status('webhook_endpoint_status', 'active', 'disabled'), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    _when('previous_secret_expires_at'),
    _when('failing_since'),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    _when('disabled_at'),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    _when('created_at', nullable=False),
    _when('updated_at', nullable=False),
    _fk('webhook_endpoints', 'created_by_id', 'users.id'),
    _fk('webhook_endpoints', 'organization_id', 'organizations.id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    _indexes('webhook_endpoints', 'organization_id')
    op.create_table('webhook_subscriptions',
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    _fk('webhook_subscriptions', 'endpoint_id', 'webhook_endpoints.id', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('endpoint_id', 'event_type', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_events',
    _id(),
    sa.Column('uid', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('delegate_organization_id', sa.Integer(), nullable=True),
    _when('created_at', nullable=False),
    _fk('webhook_events', 'contact_id', 'contacts.id'),
    _fk('webhook_events', 'delegate_organization_id', 'organizations.id'),
    _fk('webhook_events', 'organization_id', 'organizations.id'),
    _fk('webhook_events', 'ticket_id', 'tickets.id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('uid', name=op.f('uq_webhook_events_uid'))
    )
    _indexes('webhook_events', 'contact_id', 'organization_id', 'ticket_id')
    op.create_index('ix_webhook_events_type_id', 'webhook_events', ['event_type', 'id'])
    op.create_table('webhook_deliveries',
    _id(),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('status', _status('webhook_delivery_status', 'pending', 'delivered', 'failed'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    _when('next_attempt_at'),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    _when('last_attempt_at'),
    _when('delivered_at'),
    sa.Column('replays', sa.Integer(), server_default='0', nullable=False),
    _when('created_at', nullable=False),
    _fk('webhook_deliveries', 'endpoint_id', 'webhook_endpoints.id', ondelete='CASCADE'),
    _fk('webhook_deliveries', 'event_id', 'webhook_events.id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('event_id', 'endpoint_id', name='uq_webhook_deliveries_once')
    )
    op.create_index('ix_webhook_deliveries_endpoint_id', 'webhook_deliveries', ['endpoint_id', 'id'])
    op.create_index(
        'ix_webhook_deliveries_status_next', 'webhook_deliveries', ['status', 'next_attempt_at']
    )

    with _rebuilding('account_tokens') as batch_op:
        batch_op.add_column(_when('expiry_noticed_at'))
    op.execute(
        "UPDATE account_tokens SET expiry_noticed_at = CURRENT_TIMESTAMP "
        "WHERE purpose = 'activation' AND expires_at <= CURRENT_TIMESTAMP"
    )

    catalog = op.create_table('role_catalog_version',
    _id(),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_catalog_version'))
    )
    op.bulk_insert(catalog, [{'id': 1, 'version': 'initial'}])

    service_levels_backfill()

    op.create_table('ticket_reminders',
    _id(),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('first_response', 'resolution', 'awaiting_reply', 'closed_unanswered', name='reminder_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    _when('due_at', nullable=False),
    _when('sent_at', nullable=False),
    _fk('ticket_reminders', 'ticket_id', 'tickets.id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_reminders')),
    sa.UniqueConstraint('ticket_id', 'kind', 'due_at', name='uq_ticket_reminders_once')
    )
    _create_index('tickets', 'ix_tickets_awaiting_customer', ['updated_at'], False,
                  "status = 'awaiting_customer'")


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def service_levels_backfill():
    """Each unfinished ticket's due times, first response and pause (see the module's notes)."""
    config = current_app.config
    calendar = config.get('BUSINESS_CALENDAR') or business_hours.DEFAULT_CALENDAR
    plans = config['SLA_PLANS']
    default = plans[config['SLA_DEFAULT_PLAN']]
    pause = config.get('SLA_PAUSE_WHILE_AWAITING_CUSTOMER', True)
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(f"SELECT id, status, created_at, updated_at FROM tickets WHERE {UNFINISHED}")
    ).all()
    for ticket_id, status, created_at, updated_at in rows:
        created_at = _aware(created_at)
        responded = bind.execute(
            sa.text(
                "SELECT min(at) FROM ticket_events WHERE ticket_id = :id AND action IN "
                "('queried', 'query', 'approval_recorded', 'approved', 'rejected')"
            ),
            {"id": ticket_id},
        ).scalar()
        values = {
            "id": ticket_id,
            "first": business_hours.add(
                calendar, created_at, timedelta(hours=default.first_response_hours)
            ),
            "resolution": business_hours.add(
                calendar, created_at, timedelta(hours=default.resolution_hours)
            ),
            "responded": _aware(responded),
            "paused": _aware(updated_at) if pause and status == 'awaiting_customer' else None,
        }
        bind.execute(
            sa.text(
                "UPDATE tickets SET first_response_due = :first, resolution_due = :resolution, "
                "first_responded_at = :responded, sla_paused_at = :paused WHERE id = :id"
            ),
            values,
        )


def downgrade():
    op.drop_index('ix_tickets_awaiting_customer', table_name='tickets')
    op.drop_table('ticket_reminders')
    op.drop_table('role_catalog_version')
    with _rebuilding('account_tokens') as batch_op:
        batch_op.drop_column('expiry_noticed_at')
    for table in ('webhook_deliveries', 'webhook_events', 'webhook_subscriptions',
                  'webhook_endpoints'):
        op.drop_table(table)

    # Plain DROP COLUMN (SQLite 3.35+): no copy of `roles`. Roles keep delegations:edit, which
    # the first release ignores.
    op.drop_column('roles', 'exceptions')
    op.drop_column('roles', 'grants_all')
    for name, _, _ in reversed(TICKET_INDEXES):
        op.drop_index(name, table_name='tickets')
    with _rebuilding('tickets') as batch_op:
        for name in ('sla_paused_at', 'first_responded_at', 'resolution_due',
                     'first_response_due', 'reduced_at', 'revision'):
            batch_op.drop_column(name)
    op.drop_table('saved_views')
    with _rebuilding('change_requests') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_change_requests_replaces_id_change_requests'), type_='foreignkey'
        )
        batch_op.drop_column('replaces_id')
        batch_op.drop_column('revision')
        for name in reversed(BATCH_COUNTS):
            batch_op.drop_column(name)
    with _rebuilding('organizations') as batch_op:
        for name in ('sla_resolution_hours', 'sla_first_response_hours', 'plan', 'closed_at',
                     'required_fields'):
            batch_op.drop_column(name)
    with _rebuilding('emails') as batch_op:
        batch_op.drop_column('next_attempt_at')
    op.drop_table('counter_erasures')

    # An account with several memberships keeps the oldest of them.
    with _rebuilding('users') as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.drop_column('staff_permissions')
    op.execute(
        "UPDATE users SET contact_id = "
        "(SELECT min(contacts.id) FROM contacts WHERE contacts.user_id = users.id)"
    )
    with _rebuilding('users') as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_users_contact_id_contacts'), 'contacts', ['contact_id'], ['id']
        )
        batch_op.create_unique_constraint(batch_op.f('uq_users_contact_id'), ['contact_id'])
    op.drop_table('roster_counts')

    op.drop_index(ROSTER_ORDER[0], table_name='contacts')
    with _rebuilding('contacts', keep=['uq_contacts_active_email']) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_contacts_assistant_id_contacts'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_contacts_user_id'))
        batch_op.drop_index(batch_op.f('ix_contacts_assistant_id'))
        batch_op.drop_column('user_id')
        batch_op.drop_column('assistant_id')
        batch_op.drop_column('alternate_email')

    with _rebuilding('access_tokens') as batch_op:
        # SQLite's batch copy would carry the CHECK over to a table without the column.
        batch_op.drop_constraint(op.f('ck_access_tokens_session_kind'), type_='check')
        batch_op.drop_column('kind')
