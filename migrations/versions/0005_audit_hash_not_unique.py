"""the trail's hash is no longer a unique key: seq already is, and every hash covers its seq

A UNIQUE index on a SHA-256 digest puts every append at a random place in a
B-tree as large as the trail (one more page written per step, and a cold one
once the trail outgrows the cache). Two entries cannot share a hash without
sharing a seq, which the primary key forbids, and verification checks every
hash and link; the index guarded nothing the chain does not.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from audit.ddl import create_statements, drop_statements


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _rebuild(change) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":  # the table is rebuilt; its triggers go with it
        for statement in drop_statements(dialect):
            op.execute(statement)
    with op.batch_alter_table('audit_entries') as batch_op:
        change(batch_op)
    if dialect == "sqlite":
        for statement in create_statements(dialect):
            op.execute(statement)


def upgrade() -> None:
    _rebuild(lambda batch_op: batch_op.drop_constraint('uq_audit_entries_hash', type_='unique'))


def downgrade() -> None:
    _rebuild(lambda batch_op: batch_op.create_unique_constraint('uq_audit_entries_hash', ['hash']))
