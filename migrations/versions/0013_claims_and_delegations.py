"""claims_and_delegations: who handles a case's decision (cases.assignee_id), absence delegations

A reviewer claims (认领) the decision a case waits for, or is assigned (指派)
it by a colleague; the case records who, until its state changes. A user
names a substitute of the same organisation and role for a period (代理):
one row per delegation, ended early by setting `ended_at`. Existing cases
are unclaimed, so the row digests their entries recorded stay valid (the
digest covers the assignee only when there is one).

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_id_users'), 'users', ['assignee_id'], ['id'])
    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delegator_id', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['delegator_id'], ['users.id'], name=op.f('fk_delegations_delegator_id_users')),
    sa.ForeignKeyConstraint(['substitute_id'], ['users.id'], name=op.f('fk_delegations_substitute_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations'))
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index('ix_delegations_delegator_id', ['delegator_id'], unique=False)
        batch_op.create_index('ix_delegations_substitute_id', ['substitute_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.drop_index('ix_delegations_substitute_id')
        batch_op.drop_index('ix_delegations_delegator_id')
    op.drop_table('delegations')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_id_users'), type_='foreignkey')
        batch_op.drop_column('assignee_id')
