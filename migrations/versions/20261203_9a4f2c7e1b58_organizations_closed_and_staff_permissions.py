"""organizations can be closed; staff accounts carry staff permissions

Revision ID: 9a4f2c7e1b58
Revises: c5d2e8f1a307
Create Date: 2026-12-03 09:00:00

Staff onboard organizations and close them (`closed_at`; the purge of a closed organization's
contacts is work found through it). A staff account's own permissions (`staff:manage`: add and
deactivate staff accounts) are listed on the account.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '9a4f2c7e1b58'
down_revision = 'c5d2e8f1a307'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'staff_permissions',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('staff_permissions')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
