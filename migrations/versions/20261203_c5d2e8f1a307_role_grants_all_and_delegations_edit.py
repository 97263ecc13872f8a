"""roles that grant everything but a few; delegations:edit

Revision ID: c5d2e8f1a307
Revises: 5d0b7e21c9a4
Create Date: 2026-12-03 11:00:00

A role may grant every permission of the matrix except its `exceptions` (`grants_all`).
Granting or ending a partner's delegated access needs `delegations:edit` beside
`contacts:manage`: every role of the catalog that manages contacts gets it, so nobody who
could delegate before loses it.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'c5d2e8f1a307'
down_revision = '5d0b7e21c9a4'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ROLES = sa.table('roles', sa.column('code', sa.String), sa.column('permissions', JSON))


def upgrade():
    # Plain ADD COLUMN (SQLite has it): a batch copy of `roles` would drop the table that
    # contact_roles refers to.
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


def downgrade():
    with op.batch_alter_table('roles') as batch_op:
        batch_op.drop_column('exceptions')
        batch_op.drop_column('grants_all')
