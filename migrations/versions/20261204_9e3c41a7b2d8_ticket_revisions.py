"""ticket revisions: an amended batch is stored as the ticket's next revision

Revision ID: 9e3c41a7b2d8
Revises: 9a4f2c7e1b58
Create Date: 2026-12-04 10:00:00

A ticket counts its revisions (1 on submit) and points at the change request of the newest;
each change request knows its revision and the one it replaced, so staff can compare them.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "9e3c41a7b2d8"
down_revision = "9a4f2c7e1b58"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_change_requests_replaces_id_change_requests"),
            "change_requests",
            ["replaces_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_change_requests_replaces_id_change_requests"), type_="foreignkey"
        )
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("revision")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("revision")
