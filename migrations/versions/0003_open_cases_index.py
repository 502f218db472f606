"""open cases by waiting time: the review queue reads its pages in index order

Revision ID: 0003
Revises: 0002
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_open_since', 'cases', ['closed', 'state_since', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_open_since', table_name='cases')
