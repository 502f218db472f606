"""a case's organisation is indexed with its workflow, not its state

Every step that moves a case rewrote the (org_id, state) index. The queries
that start from an organisation ask for one workflow's cases (the founding
campaign, the inspection year, the hardship lists) or for all of them, and
read the few rows an organisation has; (org_id, workflow) serves them as
well, and neither of its columns changes with a step.

Revision ID: 0006
Revises: 0005
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_org_workflow', 'cases', ['org_id', 'workflow'], unique=False)
    op.drop_index('ix_cases_org_state', table_name='cases')


def downgrade() -> None:
    op.create_index('ix_cases_org_state', 'cases', ['org_id', 'state'], unique=False)
    op.drop_index('ix_cases_org_workflow', table_name='cases')
