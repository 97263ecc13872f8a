"""roster order index

Revision ID: 7c1e5a9d2b40
Revises: 60e9adacffe2
Create Date: 2026-12-01 10:00:00

A page of the roster (last name, first name, id; case-insensitive) is read from this index in
order, so it costs the same at 50 contacts and at 50,000.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a9d2b40'
down_revision = '60e9adacffe2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_contacts_roster_order',
        'contacts',
        [
            'organization_id',
            sa.text("lower(coalesce(last_name, ''))"),
            sa.text("lower(coalesce(first_name, ''))"),
            'id',
        ],
        postgresql_where=sa.text("status != 'archived'"),
        sqlite_where=sa.text("status != 'archived'"),
    )


def downgrade():
    op.drop_index('ix_contacts_roster_order', table_name='contacts')
