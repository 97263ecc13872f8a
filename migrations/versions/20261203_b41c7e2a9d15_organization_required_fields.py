"""organization required fields

Revision ID: b41c7e2a9d15
Revises: 847d6ef1a2e3
Create Date: 2026-12-03 10:00:00

Staff choose, per organization, which details a new contact must carry; NULL keeps the default
(salutation, first name, last name, email).
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "b41c7e2a9d15"
down_revision = "847d6ef1a2e3"
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("required_fields", json_type, nullable=True))


def downgrade():
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("required_fields")
