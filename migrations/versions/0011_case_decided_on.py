"""case_decided_on: the business date of a case's last step

Work is often done on paper first and recorded later: every step carries
the date it took place (`decided_on`), which the audit entry keeps in its
hashed data beside the recording time. The case keeps the date of its last
step, the bound for the next. Existing cases take the local day (UTC+8, the
profiles' zone) of their last change, the day their last step was dated by
before business dates were recorded.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_on', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE cases SET decided_on = CAST(updated_at + INTERVAL '8 hours' AS DATE)")
    else:
        op.execute("UPDATE cases SET decided_on = date(updated_at, '+8 hours')")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('decided_on')
