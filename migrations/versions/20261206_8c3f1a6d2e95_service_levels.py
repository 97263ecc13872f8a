"""service levels: organizations' plans and overrides, tickets' due times and pause

Revision ID: 8c3f1a6d2e95
Revises: 7c1e5a9d3b42
Create Date: 2026-11-27 22:45:00.000000

Every organization is on the default plan (`standard`) until staff choose another. Unfinished
tickets get their due times as if their organization's plan had applied when they opened:
`created_at` plus the plan's targets in business hours on the configured calendar. The first
response is the first event that staff's responses record (a question, an approval, a
rejection); a ticket that waits on the customer is paused since its last change. There is at
most one unfinished ticket per organization and kind, so the backfill reads few rows.
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from flask import current_app

from service import business_hours

# revision identifiers, used by Alembic.
revision = '8c3f1a6d2e95'
down_revision = '7c1e5a9d3b42'
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('applying', 'approved', 'awaiting_customer', 'failed', 'open')"
FIRST_RESPONSE_PENDING = f"first_responded_at IS NULL AND {UNFINISHED}"


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('plan', sa.String(length=40), server_default='standard', nullable=False)
        )
        batch_op.add_column(sa.Column('sla_first_response_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_resolution_hours', sa.Integer(), nullable=True))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_due', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_due', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_first_response_due', ['first_response_due'], unique=False, postgresql_where=sa.text(FIRST_RESPONSE_PENDING), sqlite_where=sa.text(FIRST_RESPONSE_PENDING))
        batch_op.create_index('ix_tickets_resolution_due', ['resolution_due'], unique=False, postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))

    backfill()


def backfill():
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
    # Plain DROP INDEX and DROP COLUMN (SQLite 3.35+), never SQLite's copy of `tickets` or
    # `organizations`: with foreign keys enforced, dropping the old table is refused (or
    # cascades) while rows refer to it.
    op.drop_index('ix_tickets_resolution_due', table_name='tickets')
    op.drop_index('ix_tickets_first_response_due', table_name='tickets')
    for column in ('sla_paused_at', 'first_responded_at', 'resolution_due', 'first_response_due'):
        op.drop_column('tickets', column)
    for column in ('sla_resolution_hours', 'sla_first_response_hours', 'plan'):
        op.drop_column('organizations', column)
