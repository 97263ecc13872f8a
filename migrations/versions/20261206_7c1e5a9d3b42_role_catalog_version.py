"""role_catalog_version: the role catalog's current state, for the per-process catalog cache

Revision ID: 7c1e5a9d3b42
Revises: e3a9c51f7d20
Create Date: 2026-11-27 22:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c1e5a9d3b42"
down_revision = "e3a9c51f7d20"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "role_catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_catalog_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": "initial"}])


def downgrade():
    op.drop_table("role_catalog_version")
