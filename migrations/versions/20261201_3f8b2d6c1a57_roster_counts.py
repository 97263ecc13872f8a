"""roster counts

Revision ID: 3f8b2d6c1a57
Revises: 7c1e5a9d2b40
Create Date: 2026-12-01 11:00:00

The roster's maintained counts (service/contacts/counts.py): per organization, its contacts of
each status, and those of them holding each role. The rules read them instead of re-reading the
whole roster. Existing contacts are counted here; from now on every change keeps them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f8b2d6c1a57'
down_revision = '7c1e5a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('roster_counts',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'deactivated', 'archived', name='roster_count_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('role_code', sa.String(length=50), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_roster_counts_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'status', 'role_code', name=op.f('pk_roster_counts'))
    )
    # Count the contacts that exist already: the contacts themselves (role_code ''), then the
    # holders of each role.
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


def downgrade():
    op.drop_table('roster_counts')
