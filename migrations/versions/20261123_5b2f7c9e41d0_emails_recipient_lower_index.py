"""index emails by lower-cased recipient

Revision ID: 5b2f7c9e41d0
Revises: a03fb0e03381
Create Date: 2026-11-23 14:05:00.000000

The purge finds every email sent to a deleted contact's address, whatever its case; without
this index that lookup reads the whole emails table, which only grows. (Written by hand:
autogenerate cannot compare expression indexes on SQLite.)
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b2f7c9e41d0'
down_revision = 'a03fb0e03381'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_emails_recipient_lower', 'emails', [sa.func.lower(sa.text('recipient'))], unique=False
    )


def downgrade():
    op.drop_index('ix_emails_recipient_lower', table_name='emails')
