"""members: the roster of named members of each union (会员实名制)

One row per membership: the person (name, 身份证号, and the gender and birth
date read from it), the union whose roster holds them, the member number
(unique within the union), the employer (an organisation or a free text),
the 八大群体 group, the status and, once ended, the date and comment. A
partial unique index keeps one active membership per ID number in the whole
installation (both databases know partial indexes). Nothing existing
changes: the organisations' member counts stay as they are.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=True),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('employer_name', sa.String(length=200), nullable=True),
    sa.Column('group_code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('left_comment', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['organisations.id'], name=op.f('fk_members_employer_id_organisations')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_members_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('org_id', 'member_no', name='uq_members_org_member_no')
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_id_number', ['id_number'], unique=False)
        batch_op.create_index('ix_members_org_status', ['org_id', 'status', 'id'], unique=False)
        batch_op.create_index('uq_members_active_id_number', ['id_number'], unique=True,
                              sqlite_where=sa.text("status = 'active'"),
                              postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('uq_members_active_id_number')
        batch_op.drop_index('ix_members_org_status')
        batch_op.drop_index('ix_members_id_number')
    op.drop_table('members')
