"""transfer_certificates: the certificates of membership transfers (会籍接转凭证)

One row per transfer case that issued a certificate: the SHA-256 of its
one-time code (unique: the receiving union's lookup), the member, the
issuing union, the last valid day, the status (issued, redeemed, expired)
and the union that redeemed it. An index on (status, valid_until) answers
the deadline sweep's question, which certificates have expired. Nothing
existing changes.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transfer_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('receiving_org_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_transfer_certificates_case_id_cases')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_transfer_certificates_member_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'],
                            name=op.f('fk_transfer_certificates_org_id_organisations')),
    sa.ForeignKeyConstraint(['receiving_org_id'], ['organisations.id'],
                            name=op.f('fk_transfer_certificates_receiving_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_certificates')),
    sa.UniqueConstraint('case_id', name=op.f('uq_transfer_certificates_case_id')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_transfer_certificates_code_hash'))
    )
    with op.batch_alter_table('transfer_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_certificates_status_valid_until', ['status', 'valid_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transfer_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_transfer_certificates_status_valid_until')
    op.drop_table('transfer_certificates')
