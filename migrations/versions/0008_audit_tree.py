"""audit_tree: the trail as a Merkle tree (RFC 9162), its stored nodes and the head's frontier

One row per entry holds the perfect subtrees that entry completes (its leaf
hash, then every subtree whose last leaf it is), so that a proof is read
from O(log n) rows; the head row gains the tree's size and frontier, so
that an append extends the tree without reading it. The table is
append-only like the trail. Existing trails are backfilled here.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from audit.ddl import tree_create_statements, tree_drop_statements
from audit.tree import encode_frontier, extend


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 20000


def upgrade() -> None:
    op.create_table('audit_tree',
    sa.Column('idx', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('nodes', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('idx', name=op.f('pk_audit_tree'))
    )
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tree_size', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('frontier', sa.Text(), server_default='', nullable=False))
    _backfill(op.get_bind())
    for statement in tree_create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def _backfill(conn: sa.Connection) -> None:
    tree = sa.table('audit_tree', sa.column('idx', sa.BigInteger()), sa.column('nodes', sa.LargeBinary()))
    frontier: list[bytes] = []
    size = 0
    while True:
        hashes = conn.execute(sa.text("SELECT seq, hash FROM audit_entries WHERE seq > :after ORDER BY seq LIMIT :n"),
                              {"after": size, "n": BATCH}).all()
        if not hashes:
            break
        if hashes[0][0] != size + 1 or hashes[-1][0] != size + len(hashes):
            break  # a gap in the trail: `flask audit verify` names it; the tree covers what precedes it
        rows = extend(frontier, size, [h for _, h in hashes])  # a row for every tile completed
        if rows:
            conn.execute(sa.insert(tree), [{"idx": i, "nodes": blob} for i, blob in rows])
        size += len(hashes)
    conn.execute(sa.text("UPDATE audit_head SET tree_size = :size, frontier = :frontier WHERE id = 1"),
                 {"size": size, "frontier": encode_frontier(frontier)})


def downgrade() -> None:
    for statement in tree_drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('frontier')
        batch_op.drop_column('tree_size')
    op.drop_table('audit_tree')
