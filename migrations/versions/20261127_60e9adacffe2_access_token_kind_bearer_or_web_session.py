"""access token kind: bearer or web session

Revision ID: 60e9adacffe2
Revises: 5b2f7c9e41d0
Create Date: 2026-11-27 15:50:55.569488

Web sessions are recorded server-side beside the API's bearer tokens, so that both can be
revoked; every row that exists already is a bearer token.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '60e9adacffe2'
down_revision = '5b2f7c9e41d0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('bearer', 'web', name='session_kind', native_enum=False, create_constraint=True, length=20), server_default='bearer', nullable=False))



def downgrade():
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        # SQLite's batch copy would carry the CHECK over to a table without the column.
        batch_op.drop_constraint(op.f('ck_access_tokens_session_kind'), type_='check')
        batch_op.drop_column('kind')

