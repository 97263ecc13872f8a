"""email attempts scheduled in the database; counter erasures after commit

Revision ID: 847d6ef1a2e3
Revises: 3f8b2d6c1a57
Create Date: 2026-11-27 16:34:12.378602

An email's next attempt (its claim while in flight, then its backoff) is kept with the email, so
that no retry depends on Redis remembering it. A purge records the rate-limit counters it asks
a job to drop from Redis after commit.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '847d6ef1a2e3'
down_revision = '3f8b2d6c1a57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter_erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_keys', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_erasures'))
    )
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')

    op.drop_table('counter_erasures')
