"""DPoP authorization code binding (RFC 9449 §10): the code's key thumbprint

Revision ID: 0009_code_dpop_jkt
Revises: 0008_dpop_and_par
Create Date: 2026-11-29 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_code_dpop_jkt'
down_revision = '0008_dpop_and_par'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
