"""one login, any number of organizations: contacts name their account

Revision ID: b6d41e0c9a27
Revises: 2e7b9c4d1f63
Create Date: 2026-11-27 19:50:00.000000

An account used to belong to one contact (`users.contact_id`). Now each contact names the
account of its person (`contacts.user_id`), so one account may be a contact (a membership) of
any number of organizations. Every existing link is kept: each account's contact now names it.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b6d41e0c9a27'
down_revision = '2e7b9c4d1f63'
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on):
    """SQLite rebuilds a table to drop a column; a rebuild drops the old table, which with
    foreign keys enforced would cascade into the rows that reference it (sessions, roles)."""
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # The pragma is ignored inside a transaction: end the one the driver holds first.
        driver = bind.connection.dbapi_connection
        driver.commit()
        driver.execute('PRAGMA foreign_keys=%s' % ('ON' if on else 'OFF'))


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_contacts_user_id_users'), 'users', ['user_id'], ['id']
        )
    op.execute(
        "UPDATE contacts SET user_id = "
        "(SELECT users.id FROM users WHERE users.contact_id = contacts.id)"
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_contact_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_users_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_column('contact_id')
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    # An account with several memberships keeps the oldest of them.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE users SET contact_id = "
        "(SELECT min(contacts.id) FROM contacts WHERE contacts.user_id = users.id)"
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_users_contact_id_contacts'), 'contacts', ['contact_id'], ['id']
        )
        batch_op.create_unique_constraint(batch_op.f('uq_users_contact_id'), ['contact_id'])
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_contacts_user_id'))
        batch_op.drop_column('user_id')
    _sqlite_foreign_keys(True)
