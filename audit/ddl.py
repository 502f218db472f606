"""Database triggers that refuse UPDATE and DELETE on the trail (the third line of defence)."""
from __future__ import annotations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END $$""",
    """CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse()""",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    "DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries",
    "DROP FUNCTION IF EXISTS audit_entries_refuse()",
]


def create_statements(dialect: str) -> list[str]:
    return POSTGRES if dialect == "postgresql" else SQLITE


def drop_statements(dialect: str) -> list[str]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP


# the Merkle tree's stored nodes (revision 0008 on): the same protection, in statements of their own so
# that the earlier revisions keep creating exactly what they created
TREE_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS audit_tree_no_update BEFORE UPDATE ON audit_tree
       BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_tree_no_delete BEFORE DELETE ON audit_tree
       BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END""",
]
TREE_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_tree_no_update",
    "DROP TRIGGER IF EXISTS audit_tree_no_delete",
]
TREE_POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_tree_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_tree is append-only'; END $$""",
    """CREATE TRIGGER audit_tree_no_change BEFORE UPDATE OR DELETE ON audit_tree
       FOR EACH ROW EXECUTE FUNCTION audit_tree_refuse()""",
    """CREATE TRIGGER audit_tree_no_truncate BEFORE TRUNCATE ON audit_tree
       FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_refuse()""",
]
TREE_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_tree_no_truncate ON audit_tree",
    "DROP TRIGGER IF EXISTS audit_tree_no_change ON audit_tree",
    "DROP FUNCTION IF EXISTS audit_tree_refuse()",
]


def tree_create_statements(dialect: str) -> list[str]:
    return TREE_POSTGRES if dialect == "postgresql" else TREE_SQLITE


def tree_drop_statements(dialect: str) -> list[str]:
    return TREE_POSTGRES_DROP if dialect == "postgresql" else TREE_SQLITE_DROP
