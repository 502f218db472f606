"""Bulk import of the enterprise register (企业名录, 摸底排查): check every row, then create or update.

`import_register` checks every row first (collecting every reason, in
Chinese and English) and writes nothing when any row is bad or when asked for
a dry run. Otherwise, in the caller's unit of work, it creates the new
enterprises and updates the known ones (matched by 统一社会信用代码), appending
one audit entry per changed enterprise (subject "org", trigger
`import_create` / `import_update`, state: the digest of the enterprise's row
as written, data: the changed fields as [before, after], the file and the
row).

Who may import (decided here): administrators, anywhere; reviewers of a
`federation` (县级以上总工会, who run the survey), within their own subtree: a
row whose parent, or whose known enterprise, lies outside it is refused.

Columns: 企业名称, 统一社会信用代码, 职工人数 and 上级组织代码 are required;
地址, 女职工人数 are optional (blank: unchanged); 是否建会 (是/已建会 or
否/未建会) with 会员人数 record a union founded before the system was used.
A new enterprise's organisation code is its credit code. While a founding
case is open the case owns the union status, so the file may not set it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

import audit
from storage import utcnow
from workflow import Actor, Case, Forbidden, Organisation, org_digest, org_state

from .register_file import RegisterFileError, Table, read_table
from .register_rows import MESSAGES, Problem, Row, check_status, message, parse

CHUNK = 500
Progress = Callable[[str, int, int], None]


@dataclass
class Change:
    row: int
    code: str
    name: str
    action: str  # create | update | unchanged
    changes: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class ImportResult:
    filename: str
    dry_run: bool
    rows: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.errors if p.row is not None})

    @property
    def ok(self) -> bool:
        return not self.errors


def import_scope(session: Session, actor: Actor) -> str:
    """The path prefix the actor may import into ("/" for an administrator); Forbidden for anyone else."""
    if actor.role == "admin":
        return "/"
    if actor.role == "reviewer" and actor.org_id is not None:
        org = session.get(Organisation, actor.org_id)
        if org is not None and org.kind == "federation":
            return org.path
    raise Forbidden()


def may_import(session: Session, actor: Actor) -> bool:
    try:
        import_scope(session, actor)
    except Forbidden:
        return False
    return True


def _chunked(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _load(session: Session, column: Any, keys: set[str], *extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in _chunked(sorted(keys)):
        for org in session.scalars(select(Organisation).where(column.in_(part), *extra)):
            out[getattr(org, column.key)] = org
    return out


def _wanted(v: dict[str, Any], known: Organisation | None) -> dict[str, Any]:
    """The register fields the row sets (blank optional cells keep what is recorded)."""
    out = {"name": v["name"], "credit_code": v["credit_code"], "employees": v["employees"]}
    for f in ("address", "female_employees"):
        if v[f] is not None or known is None:
            out[f] = v[f]
    if v["union_status"] == "founded":
        out["union_status"] = "founded"
    if v["member_count"] is not None:
        out["member_count"] = v["member_count"]
    return out


def check(session: Session, table: Table, actor: Actor, filename: str = "",
          progress: Progress | None = None) -> tuple[ImportResult, list[tuple[Row, Organisation | None,
                                                                               Organisation | None]]]:
    """Check every row against the file itself and the database; nothing is written."""
    scope = import_scope(session, actor)
    result = ImportResult(filename, dry_run=True, rows=len(table.rows))
    rows = [Row(n, values) for n, values in table.rows]
    first: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        parse(row)
        code = row.values["credit_code"]
        if code is not None:
            if code in first:
                row.bad("credit_code", "duplicate_in_file", first=first[code])
            else:
                first[code] = row.number
        if progress is not None and i % 1000 == 0:
            progress("check", i, len(rows))

    codes = {r.values["credit_code"] for r in rows if r.values["credit_code"]}
    parents = _load(session, Organisation.code, {r.values["parent"] for r in rows if r.values["parent"]})
    known = _load(session, Organisation.credit_code, codes)
    taken = _load(session, Organisation.code, codes - set(known))
    open_cases = {org_id for part in _chunked([str(o.id) for o in known.values()]) for org_id in session.scalars(
        select(Case.org_id).where(Case.org_id.in_([int(x) for x in part]), Case.workflow == "founding",
                                  Case.closed.is_(False)))}
    names = _load(session, Organisation.name, {r.values["name"] for r in rows if r.values["name"]},
                  Organisation.kind == "enterprise")

    checked = []
    for row in rows:
        v = row.values
        parent = parents.get(v["parent"]) if v["parent"] else None
        if v["parent"] and parent is None:
            row.bad("parent", "unknown_parent", code=v["parent"])
        elif parent is not None and parent.kind == "enterprise":
            row.bad("parent", "parent_is_enterprise", code=parent.code)
        elif parent is not None and not parent.path.startswith(scope):
            row.bad("parent", "parent_outside", code=parent.code)
        org = known.get(v["credit_code"]) if v["credit_code"] else None
        if org is not None and not org.path.startswith(scope):
            row.bad("credit_code", "enterprise_outside")
            org = None
        elif org is None and v["credit_code"] in taken:
            row.bad("credit_code", "code_taken", code=v["credit_code"])
        if not any(p.code == "enterprise_outside" for p in row.problems):
            check_status(row, v, org, org is not None and org.id in open_cases)
        same = names.get(v["name"]) if v["name"] else None
        if same is not None and same is not org and same.path.startswith(scope):
            result.warnings.append(Problem(row.number, "name", "same_name", {"code": same.code}))
        result.errors.extend(row.problems)
        if not row.problems:
            checked.append((row, org, parent))
    if progress is not None:
        progress("check", len(rows), len(rows))
    for row, org, parent in checked:
        result.changes.append(_change(row, org, parent))
    return result, checked


def _change(row: Row, org: Organisation | None, parent: Organisation | None) -> Change:
    v = row.values
    wanted = _wanted(v, org)
    if org is None:
        changes = {k: [None, val] for k, val in wanted.items() if val is not None}
        changes["parent"] = [None, parent.code if parent else None]
        return Change(row.number, v["credit_code"], v["name"], "create", changes)
    changes = {k: [getattr(org, k), val] for k, val in wanted.items() if getattr(org, k) != val}
    if parent is not None and parent.id != org.parent_id:
        changes["parent"] = [org.parent.code if org.parent else None, parent.code]
    return Change(row.number, org.code, v["name"], "update" if changes else "unchanged", changes)


def import_register(
    session: Session,
    content: bytes,
    actor: Actor,
    *,
    filename: str = "",
    dry_run: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the file; unless `dry_run` or a row is bad, write it in the caller's unit of work."""
    import_scope(session, actor)
    try:
        table = read_table(content, filename)
    except RegisterFileError as err:
        return ImportResult(filename, dry_run, errors=[Problem(None, None, err.code, err.params)])
    result, checked = check(session, table, actor, filename, progress)
    result.dry_run = dry_run
    if dry_run or result.errors:
        return result
    _write(session, result, checked, actor, filename, progress)
    result.written = True
    return result


def _write(session: Session, result: ImportResult, checked: list, actor: Actor, filename: str,
           progress: Progress | None) -> None:
    by_row = {c.row: c for c in result.changes}
    created = _insert_new(session, [(by_row[row.number], parent) for row, org, parent in checked if org is None])
    # with thousands of objects in the session, flushing before each audit entry would cost O(n²)
    with session.no_autoflush:
        done = 0
        for row, org, parent in checked:
            change = by_row[row.number]
            done += 1
            if change.action != "unchanged":
                if change.action == "update":
                    _update(org, parent, change)
                audit.append(
                    session, actor=actor.username, role=actor.role, subject_type="org", subject_id=change.code,
                    trigger=f"import_{change.action}", from_state=None,
                    to_state=created[change.code] if org is None else org_state(org), version=None,
                    data={"changes": change.changes, "file": filename, "row": change.row},
                )
            if progress is not None and done % 1000 == 0:
                progress("write", done, len(checked))
    session.flush()
    if progress is not None:
        progress("write", len(checked), len(checked))


def _insert_new(session: Session, new: list[tuple[Change, Organisation]]) -> dict[str, str]:
    """Insert the new enterprises in bulk, then give each its path (which needs its id); returns each one's
    row digest by its code."""
    if not new:
        return {}
    table = Organisation.__table__
    now = utcnow()
    values = []
    for change, parent in new:
        fields = {k: pair[1] for k, pair in change.changes.items() if k != "parent"}
        values.append({"code": change.code, "name": fields["name"], "kind": "enterprise", "parent_id": parent.id,
                       "path": "/", "employees": fields.get("employees"),
                       "female_employees": fields.get("female_employees"), "credit_code": fields["credit_code"],
                       "address": fields.get("address"), "union_status": fields.get("union_status", "none"),
                       "member_count": fields.get("member_count"), "created_at": now})
    ids = {}
    for part in range(0, len(values), CHUNK):
        for org_id, code in session.execute(
                insert(table).returning(table.c.id, table.c.code), values[part:part + CHUNK]):
            ids[code] = org_id
    session.execute(
        update(table).where(table.c.id == bindparam("org_id")).values(path=bindparam("new_path")),
        [{"org_id": ids[change.code], "new_path": f"{parent.path}{ids[change.code]}/"} for change, parent in new],
    )
    return {v["code"]: org_digest(v) for v in values}


def _update(org: Organisation, parent: Organisation, change: Change) -> None:
    for key, (_old, value) in change.changes.items():
        if key == "parent":
            # an enterprise has no descendants: its own path is all that moves
            org.parent_id = parent.id
            org.path = f"{parent.path}{org.id}/"
        else:
            setattr(org, key, value)


__all__ = ["MESSAGES", "Change", "ImportResult", "Problem", "import_register", "import_scope", "may_import",
           "message", "read_table"]
