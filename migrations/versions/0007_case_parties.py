"""case_parties: the second organisations a case concerns

A definition may declare parties (a transfer's receiving union): each is
recorded once per case with its organisation, and whether that side sees
the case; the read-side queries look parties up by organisation.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_parties',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('sees_case', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_parties_case_id_cases')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_case_parties_org_id_organisations')),
    sa.PrimaryKeyConstraint('case_id', 'party', name=op.f('pk_case_parties'))
    )
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.create_index('ix_case_parties_org_id', ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_case_parties_org_id')

    op.drop_table('case_parties')
