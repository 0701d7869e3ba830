"""private_key_jwt: the client's public keys (jwks or jwks_uri) and its signing algorithm

Revision ID: 0006_private_key_jwt
Revises: ce03b96d7b41
Create Date: 2026-11-27 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_private_key_jwt'
down_revision = 'ce03b96d7b41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jwks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('jwks_uri', sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column('token_endpoint_auth_signing_alg', sa.String(length=16), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_column('token_endpoint_auth_signing_alg')
        batch_op.drop_column('jwks_uri')
        batch_op.drop_column('jwks')
