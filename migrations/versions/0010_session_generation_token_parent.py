"""users.session_generation and api_tokens.parent_id: revocable sessions, tokens minted with tokens

A user's signed-in sessions carry the generation they were opened under;
logging out, a password change, a role or organisation change, disabling
and an administrator's "sign out everywhere" raise it, and every server
refuses a session of an older generation. A token minted with another
token names it, so that revoking the first revokes what was minted with it.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_parent_id_api_tokens'), 'api_tokens',
                                    ['parent_id'], ['id'])
        batch_op.create_index('ix_api_tokens_parent_id', ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_api_tokens_parent_id')
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_parent_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('parent_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
