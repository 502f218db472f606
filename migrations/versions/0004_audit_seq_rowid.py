"""on SQLite the trail's seq becomes the table's rowid: reading the trail in order is one scan

With seq as a BIGINT primary key SQLite keeps a separate index and looks
every entry up through it (two B-tree descents per entry when verifying a
million entries, and one more index to write per append). As INTEGER
PRIMARY KEY it is the rowid itself. PostgreSQL is unchanged.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

from audit.ddl import create_statements, drop_statements


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in drop_statements("sqlite"):  # the table is rebuilt; its triggers go with it
        op.execute(statement)
    with op.batch_alter_table('audit_entries', recreate='always') as batch_op:
        batch_op.alter_column('seq', type_=new, existing_type=old, existing_nullable=False, autoincrement=False)
    for statement in create_statements("sqlite"):
        op.execute(statement)


def upgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())
