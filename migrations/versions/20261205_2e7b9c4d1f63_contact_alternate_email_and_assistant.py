"""contacts: an alternate email and an assistant (another contact of the organization)

Revision ID: 2e7b9c4d1f63
Revises: 4d4f790e177c
Create Date: 2026-12-03 10:00:00

The alternate email is personal data (service/personal_data.py), erased by the purge; the
assistant is an id, cleared when the contact it names is purged.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '2e7b9c4d1f63'
down_revision = '4d4f790e177c'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: on SQLite a foreign key would make Alembic rebuild `contacts`, and
    # dropping the old table would cascade to `contact_roles`. SQLite keeps the column without
    # the constraint; PostgreSQL gets it.
    op.add_column('contacts', sa.Column('alternate_email', sa.String(length=254), nullable=True))
    op.add_column('contacts', sa.Column('assistant_id', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != 'sqlite':
        op.create_foreign_key(
            op.f('fk_contacts_assistant_id_contacts'),
            'contacts',
            'contacts',
            ['assistant_id'],
            ['id'],
        )


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_contacts_assistant_id_contacts'), 'contacts', type_='foreignkey')
    # Plain DROP COLUMN (SQLite 3.35+), never a rebuild of `contacts` (see upgrade).
    op.drop_column('contacts', 'assistant_id')
    op.drop_column('contacts', 'alternate_email')
