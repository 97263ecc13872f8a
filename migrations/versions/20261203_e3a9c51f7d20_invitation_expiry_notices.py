"""an expired invitation is noticed once: account_tokens.expiry_noticed_at

Revision ID: e3a9c51f7d20
Revises: b6d41e0c9a27
Create Date: 2026-11-27 20:15:00.000000

The sweep tells an organization's admins when an invitation expires unused
(`invitation_expired`), once per invitation. Links that expired before this release are marked
noticed, so that upgrading sends no burst of old news.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e3a9c51f7d20'
down_revision = 'b6d41e0c9a27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('expiry_noticed_at', sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE account_tokens SET expiry_noticed_at = CURRENT_TIMESTAMP "
        "WHERE purpose = 'activation' AND expires_at <= CURRENT_TIMESTAMP"
    )


def downgrade():
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_column('expiry_noticed_at')
