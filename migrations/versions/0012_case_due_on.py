"""case_due_on: the deadline of the step a case waits for (办理时限), the alerts sent and the inbox

Every waiting step has a deadline in working days (domain.md §6), set by the
step that began the wait. Cases already waiting are left without one here
(the periods are the profile's, which a migration does not read): the
deadline sweep (`flask sweep`) gives each of them the deadline of its wait,
counted from the business date of its last step.

`deadline_alerts` remembers each alert the sweep sent (one per case, wait
and kind), so that a second sweep sends nothing twice; `notifications` is
each person's in-app inbox, with the outbox of its e-mails; a user may give an
e-mail address and turn kinds of notification off, by channel.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_cases_due', ['due_on'], unique=False)
    op.create_table(
        'deadline_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=32), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('sent_on', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_deadline_alerts_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_alerts')),
        sa.UniqueConstraint('case_id', 'state', 'due_on', 'kind', name='uq_deadline_alerts_wait'),
    )
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.Column('in_inbox', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column('email_status', sa.String(length=8), nullable=True),
        sa.Column('email_attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('emailed_at', sa.DateTime(), nullable=True),
        sa.Column('email_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index('ix_notifications_user', 'notifications', ['user_id', 'read_at', 'id'], unique=False)
    op.create_index('ix_notifications_email', 'notifications', ['email_status'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('notify_off', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('notify_off')
        batch_op.drop_column('email')
    op.drop_index('ix_notifications_email', table_name='notifications')
    op.drop_index('ix_notifications_user', table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('deadline_alerts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_due')
        batch_op.drop_column('due_on')
