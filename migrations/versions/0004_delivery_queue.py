"""one delivery queue: claim and lease columns, failed_at renamed given_up_at

Revision ID: 5b0e7c2d9a41
Revises: 6346938dcd7f
Create Date: 2026-11-29 06:10:00.000000

The mail outbox and back-channel logout notifications share idp.models.delivery's columns:
``claimed_by`` and ``claimed_until`` (a worker's short, renewed lease; before, the lease was
written into ``next_try_at``) and ``given_up_at`` (was ``failed_at``; the data is kept).
"""
from alembic import op
import sqlalchemy as sa

import idp.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '5b0e7c2d9a41'
down_revision = '6346938dcd7f'
branch_labels = None
depends_on = None

TABLES = ('outbox_mail', 'logout_notification')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('failed_at', new_column_name='given_up_at')
            batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('claimed_until', idp.models.base.UTCDateTime(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('claimed_until')
            batch_op.drop_column('claimed_by')
            batch_op.alter_column('given_up_at', new_column_name='failed_at')
