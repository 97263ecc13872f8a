"""batch summary counts on change requests; staff's saved queue views

Revision ID: 5d0b7e21c9a4
Revises: b41c7e2a9d15
Create Date: 2026-12-03 10:00:00

The queue shows, for each ticket, how many changes its batch holds and of which kinds; they are
counted once when the batch is stored (and here, for the batches already stored), so a page of
the queue never reads items. Staff save named views of the queue (filters and order).
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "5d0b7e21c9a4"
down_revision = "b41c7e2a9d15"
branch_labels = None
depends_on = None

COUNTS = ("item_count", "adds", "deletions", "required_role_removals", "delegations")
_ITEMS = (
    "SELECT count(*) FROM change_request_items i WHERE i.change_request_id = change_requests.id"
)


def upgrade():
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE change_requests SET "
        f"item_count = ({_ITEMS}), "
        f"adds = ({_ITEMS} AND i.op = 'add_contact'), "
        f"deletions = ({_ITEMS} AND i.op = 'delete_contact'), "
        f"delegations = ({_ITEMS} AND i.op IN ('grant_delegate', 'revoke_delegate')), "
        f"required_role_removals = ({_ITEMS} AND i.op = 'revoke_role' AND i.role_code IN "
        "(SELECT code FROM roles r WHERE r.required))"
    )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "query",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_views_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_views_user_id")),
    )


def downgrade():
    op.drop_table("saved_views")
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        for name in reversed(COUNTS):
            batch_op.drop_column(name)
