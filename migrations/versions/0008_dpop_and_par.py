"""DPoP (RFC 9449) and PAR (RFC 9126): client flags, the token's key thumbprint, pushed requests

Revision ID: 0008_dpop_and_par
Revises: 7a3c0e5d9b14
Create Date: 2026-11-29 06:00:00

"""
from alembic import op
import sqlalchemy as sa

import idp.models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0008_dpop_and_par'
down_revision = '7a3c0e5d9b14'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_bound_access_tokens', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('require_pushed_authorization_requests', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))
    op.create_table('pushed_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_uri_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', idp.models.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', idp.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'], name=op.f('fk_pushed_request_client_id_oauth_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pushed_request')),
    sa.UniqueConstraint('request_uri_hash', name=op.f('uq_pushed_request_request_uri_hash'))
    )
    with op.batch_alter_table('pushed_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pushed_request_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pushed_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pushed_request_expires_at'))
    op.drop_table('pushed_request')
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_column('require_pushed_authorization_requests')
        batch_op.drop_column('dpop_bound_access_tokens')
