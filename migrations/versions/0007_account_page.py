"""account page: device hints and last use of sessions and tokens; first-party interactions

Revision ID: 7a3c0e5d9b14
Revises: 0006_private_key_jwt
Create Date: 2026-11-29 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import idp.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '7a3c0e5d9b14'
down_revision = '0006_private_key_jwt'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('op_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_hint', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', idp.models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_hint', sa.String(length=120), nullable=True))
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.alter_column('client_id', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    op.execute("DELETE FROM interaction WHERE client_id IS NULL")
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.alter_column('client_id', existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.drop_column('device_hint')
    with op.batch_alter_table('op_session', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('device_hint')
