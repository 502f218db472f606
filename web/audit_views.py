"""The auditor's trail explorer (审计留痕): filter, open an entry, export (Excel and CSV for people,
JSON Lines verbatim), verify.

Auditors read the entries about their subtree: the cases of its enterprises
(and the materials attached to them, subject "<case id>:<digest>"), its
organisations and its users. Administrators read the whole trail. ID
numbers are always masked here, since the explorer spans many enterprises;
the JSON Lines export is otherwise verbatim (each line re-hashes to its
`hash`); the Excel and CSV exports show the entries as the pages do
(web.audit_export).

The unfiltered explorer counts the entries within the reader's scope, and
says how many the whole trail holds beside it; verification checks the whole
trail and says how many of its entries are within the scope: the two pages
give the same two numbers (a district auditor does not see, say, the entries
of an account of no organisation, which verification checks all the same).
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session

import audit
from audit import AuditEntry
from services.accounts import find_org
from services.people import usernames_called
from storage import utcnow
from workflow import (
    CERTIFICATE,
    DOCUMENT_ISSUED,
    Actor,
    Case,
    Member,
    Organisation,
    Page,
    TransferCertificate,
    User,
    paginate,
)

from . import audit_export
from .extensions import get_db, get_engine
from .i18n import local_time, text
from .listing import COUNT_LIMIT, page_number
from .people import load_people
from .org_names import remember_entries
from .present import entry_json

bp = Blueprint("audit", __name__, url_prefix="/audit")

READERS = ("auditor", "admin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECT_TYPES = ("case", "attachment", "org", "user", "member", CERTIFICATE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 50


def reader() -> Actor:
    actor = current_user.actor()
    if actor.role not in READERS:
        abort(403)
    return actor


def _day(args: Mapping[str, str], name: str, end: bool = False) -> datetime | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400)
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=SHANGHAI)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _within(path: str | None) -> tuple[Select, Select, Select]:
    """Subjects (case ids, org codes, usernames) within the subtree at `path` (all when None)."""
    cases = select(cast(Case.id, String)).join(Case.org)
    orgs = select(Organisation.code)
    users = select(User.username).join(User.org)
    if path is not None:
        prefix = Organisation.path.startswith(path, autoescape=True)
        cases, orgs, users = cases.where(prefix), orgs.where(prefix), users.where(prefix)
    return cases, orgs, users


def scoped_entries(session: Session, actor: Actor, args: Mapping[str, str]) -> Select:
    """Entries the actor may read, filtered by `args` (the explorer's query string); newest first."""
    stmt = select(AuditEntry)
    path: str | None = None if actor.role == "admin" else (actor.org_path or "\0")
    if args.get("org"):
        org = find_org(session, args["org"].strip())
        if org is None or (path is not None and not org.path.startswith(path)):
            abort(404)
        path = org.path
    if path is not None:
        cases, orgs, users = _within(path)
        stmt = stmt.where(or_(
            (AuditEntry.subject_type == "case") & AuditEntry.subject_id.in_(cases),
            (AuditEntry.subject_type == "attachment") & _attached_to(Organisation.path.startswith(path, autoescape=True)),
            (AuditEntry.subject_type == "org") & AuditEntry.subject_id.in_(orgs),
            (AuditEntry.subject_type == "user") & AuditEntry.subject_id.in_(users),
            (AuditEntry.subject_type == "member") & AuditEntry.subject_id.in_(
                select(cast(Member.id, String)).join(Organisation, Organisation.id == Member.org_id)
                .where(Organisation.path.startswith(path, autoescape=True))),
            # a transfer certificate is the issuing union's (会籍接转)
            (AuditEntry.subject_type == CERTIFICATE) & AuditEntry.subject_id.in_(
                select(cast(TransferCertificate.id, String))
                .join(Organisation, Organisation.id == TransferCertificate.org_id)
                .where(Organisation.path.startswith(path, autoescape=True))),
        ))
    if args.get("workflow"):
        of_workflow = select(cast(Case.id, String)).where(Case.workflow == args["workflow"])
        stmt = stmt.where(or_(
            (AuditEntry.subject_type == "case") & AuditEntry.subject_id.in_(of_workflow),
            (AuditEntry.subject_type == "attachment") & _attached_to(Case.workflow == args["workflow"]),
        ))
    if args.get("subject") in SUBJECT_TYPES:
        stmt = stmt.where(AuditEntry.subject_type == args["subject"])
    elif args.get("subject"):
        stmt = stmt.where(false())
    who = (args.get("actor") or "").strip()
    if who:
        stmt = stmt.where(or_(AuditEntry.actor == who, AuditEntry.actor.in_(usernames_called(who))))
    if args.get("trigger"):
        stmt = stmt.where(AuditEntry.trigger == args["trigger"])
    if args.get("case"):
        stmt = stmt.where(AuditEntry.subject_type == "case", AuditEntry.subject_id == args["case"].strip().lstrip("#"))
    q = (args.get("q") or "").strip()
    if q:
        stmt = stmt.where(_search(q))
    start, end = _day(args, "from"), _day(args, "to", end=True)
    if start:
        stmt = stmt.where(AuditEntry.at >= start)
    if end:
        stmt = stmt.where(AuditEntry.at < end)
    return stmt.order_by(AuditEntry.seq.desc())


def _attached_to(condition: Any) -> Any:
    """An attachment entry ("<case id>:<digest>") whose case meets `condition`."""
    return (select(Case.id).join(Case.org)
            .where(condition, AuditEntry.subject_id.startswith(cast(Case.id, String) + ":")).exists())


def _search(q: str) -> Any:
    """A case number, an entry number, a person (username, or a real name whole or in part), or (part of)
    an organisation's name or code."""
    q = q.lstrip("#")
    if not q:
        return false()
    if q.isdigit():
        return or_((AuditEntry.subject_type == "case") & (AuditEntry.subject_id == q), AuditEntry.seq == int(q))
    named = or_(Organisation.name.contains(q, autoescape=True), Organisation.code == q)
    cases = select(cast(Case.id, String)).join(Case.org).where(named)
    orgs = select(Organisation.code).where(named)
    people = usernames_called(q)
    return or_(
        AuditEntry.actor == q,
        AuditEntry.actor.in_(people),
        (AuditEntry.subject_type == "user") & ((AuditEntry.subject_id == q) | AuditEntry.subject_id.in_(people)),
        (AuditEntry.subject_type == "case") & AuditEntry.subject_id.in_(cases),
        (AuditEntry.subject_type == "org") & AuditEntry.subject_id.in_(orgs),
    )


def people_of(session: Session, entries: list[dict[str, Any]]) -> None:
    """The people the entries name, loaded for the page in one query: who acted, and the users acted on."""
    load_people(session, [*(e["actor"] for e in entries),
                          *(e["subject_id"] for e in entries if e["subject_type"] == "user")])


def chain_length(session: Session) -> int:
    """How many entries the trail holds (its last number: the numbers run from 1 without a gap, which
    verification checks)."""
    return session.scalar(select(func.max(AuditEntry.seq))) or 0


def count_in_scope(session: Session, actor: Actor) -> int:
    """How many entries the actor may read: what the unfiltered explorer counts."""
    scoped = scoped_entries(session, actor, {}).with_only_columns(AuditEntry.seq).order_by(None)
    return session.scalar(select(func.count()).select_from(scoped.subquery())) or 0


def workflows_of(session: Session, entries: list[dict[str, Any]]) -> dict[str, str]:
    """{case id: workflow} for the entries shown, to label their triggers and states: the cases' own entries,
    their attachments', and the organisations' entries a case's step wrote (which record its `case_id`)."""
    ids = {int(case_of(e)) for e in entries if case_of(e)}
    ids |= {e["data"]["case_id"] for e in entries if e["subject_type"] == "org" and isinstance(e.get("data"), dict)
            and isinstance(e["data"].get("case_id"), int)}
    ids |= {e["data"]["case"] for e in entries if e["subject_type"] in ("member", "transfer_cert")
            and isinstance(e.get("data"), dict) and isinstance(e["data"].get("case"), int)}
    if not ids:
        return {}
    return {str(i): w for i, w in session.execute(select(Case.id, Case.workflow).where(Case.id.in_(ids)))}


def case_of(entry: Mapping[str, Any]) -> str | None:
    """The case an entry is about: a case's own entries and those of its attachments."""
    if entry["subject_type"] == "case" and entry["subject_id"].isdigit():
        return entry["subject_id"]
    if entry["subject_type"] == "attachment":
        head = entry["subject_id"].split(":")[0]
        return head if head.isdigit() else None
    return None


def trigger_choices() -> list[tuple[str, list[tuple[str, Any]]]]:
    """The trigger filter's options, grouped by workflow."""
    from .i18n import text
    from .templating import ADMIN_TRIGGERS

    groups = []
    for name, d in get_engine().catalog.definitions.items():
        seen: dict[str, Any] = {"create": ADMIN_TRIGGERS["create"]}
        for t in d.transitions:
            seen.setdefault(t.trigger, text(t.label, t.trigger))
        seen[DOCUMENT_ISSUED] = ADMIN_TRIGGERS[DOCUMENT_ISSUED]  # a case's document issued as PDF
        groups.append((text(d.title, name), list(seen.items())))
    groups.append((_("组织与用户"), [(k, v) for k, v in ADMIN_TRIGGERS.items() if k not in ("create", DOCUMENT_ISSUED)]))
    return groups


@bp.get("/")
@login_required
def explorer() -> Any:
    actor = reader()
    with get_db().read() as session:
        page: Page = paginate(session, scoped_entries(session, actor, request.args), page_number(), PER_PAGE,
                              count_limit=COUNT_LIMIT)
        entries = [entry_json(e, True) for e in page.items]
        people_of(session, entries)
        remember_entries(session, entries)
        filtered = any(v for k, v in request.args.items() if k not in ("page", "lang"))
        # unfiltered, the count is the reader's scope; the whole chain (what verification counts) beside it
        chain = None if filtered else chain_length(session)
        return render_template("audit/explorer.html", page=page, entries=entries, args=request.args,
                               workflow_of=workflows_of(session, entries), trigger_groups=trigger_choices(),
                               filtered=filtered, subject_types=SUBJECT_TYPES, chain=chain)


@bp.get("/entries/<int:seq>")
@login_required
def entry(seq: int) -> Any:
    actor = reader()
    with get_db().read() as session:
        scoped = scoped_entries(session, actor, {})
        found = session.scalars(scoped.where(AuditEntry.seq == seq)).first()
        if found is None:
            abort(404)
        previous = session.get(AuditEntry, seq - 1) if seq > 1 else None
        following = session.get(AuditEntry, seq + 1)
        visible = set(session.scalars(
            select(AuditEntry.seq).where(AuditEntry.seq.in_([seq - 1, seq + 1]))
            .where(AuditEntry.seq.in_(scoped.with_only_columns(AuditEntry.seq).order_by(None)))
        ))
        shown = entry_json(found, True)
        people_of(session, [shown])
        remember_entries(session, [shown])
        checks = {
            "hash": _rehash(found) == found.hash,
            "prev": found.prev_hash == (previous.hash if previous else audit.GENESIS),
            "next": None if following is None else following.prev_hash == found.hash,
        }
        return render_template(
            "audit/entry.html", entry=shown, checks=checks, genesis=audit.GENESIS,
            previous=entry_json(previous, True) if previous else None,
            following=entry_json(following, True) if following else None, visible=visible,
            workflow_of=workflows_of(session, [shown]), json=json,
        )


def checkpoint_note() -> str | None:
    """The newest signed-note checkpoint the audit office has placed on the server, if any."""
    from pathlib import Path

    from flask import current_app

    path = current_app.config.get("UNIONFLOW_AUDIT_CHECKPOINT")
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError):
        return None


@bp.get("/entries/<int:seq>/proof.json")
@login_required
def entry_proof(seq: int) -> Any:
    """证明: the entry (masked as shown here), its inclusion proof and the signed checkpoint, in one file."""
    from .proofs import ProofUnavailable, proof_file

    actor = reader()
    with get_db().read() as session:
        found = session.scalar(scoped_entries(session, actor, {}).with_only_columns(AuditEntry.seq)
                               .where(AuditEntry.seq == seq).order_by(None))
        if found is None:
            abort(404)
        note = checkpoint_note()
        try:
            if note is None:
                raise ProofUnavailable("服务器上还没有签名检查点：请审计办公室放置最新的检查点文件后再下载证明。",
                                       "no signed checkpoint on the server yet")
            body = proof_file(session, seq, note, masked=True)
        except ProofUnavailable as err:
            return render_template("audit/proof_unavailable.html", seq=seq, zh=err.zh, en=err.en), 409
    return Response(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    mimetype="application/json; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=audit-entry-{seq}-proof.json",
                             "Cache-Control": "no-store"})


def _rehash(e: AuditEntry) -> str:
    from audit.chain import format_at

    return audit.entry_hash(
        seq=e.seq, at=format_at(e.at), actor=e.actor, role=e.role, subject_type=e.subject_type,
        subject_id=e.subject_id, trigger=e.trigger, from_state=e.from_state, to_state=e.to_state,
        version=e.version, comment=e.comment, data=e.data, prev_hash=e.prev_hash,
    )


def _export_rows(actor: Actor, args: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    with get_db().read() as session:
        result = session.scalars(scoped_entries(session, actor, args).execution_options(yield_per=2000))
        for e in result:
            yield entry_json(e, True)


def _filename(ext: str) -> str:
    return f"attachment; filename=audit-trail-{utcnow().strftime('%Y%m%d-%H%M%S')}.{ext}"


def _people_rows(actor: Actor, args: Mapping[str, str]) -> Iterator[list[Any]]:
    """The rows of the export for people (web.audit_export), read in one unit."""
    labels = audit_export.Labels(get_engine().catalog.definitions)
    with get_db().read() as session:
        yield from audit_export.rows(session, scoped_entries(session, actor, args), labels)


def _filter_label(key: str, value: str) -> str:
    """A filter's value as the workbook's second line names it."""
    from .templating import SUBJECT_LABELS

    if key == "workflow" and value in get_engine().catalog.definitions:
        return text(get_engine().catalog.definitions[value].title, value)
    if key == "subject":
        return str(SUBJECT_LABELS.get(value, value))
    if key == "trigger":
        found = {code: str(label) for _group, items in trigger_choices() for code, label in items}
        return found.get(value, value)
    return value


@bp.get("/export.csv")
@login_required
def export_csv() -> Response:
    """审计留痕 as CSV for people: Chinese headers (English on English pages), names, labels, Beijing times."""
    actor = reader()
    args = request.args.to_dict()
    with get_db().read() as session:
        scoped_entries(session, actor, args)  # a bad filter fails here, before the download starts
    return Response(stream_with_context(audit_export.csv_lines(_people_rows(actor, args))),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _filename("csv"), "Cache-Control": "no-store"})


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> Response:
    """审计留痕 as an Excel workbook, with the same rows as the CSV and the filters in words above them."""
    actor = reader()
    args = request.args.to_dict()
    with get_db().read() as session:
        scoped = scoped_entries(session, actor, args).with_only_columns(AuditEntry.seq).order_by(None)
        n = session.scalar(select(func.count()).select_from(scoped.limit(audit_export.XLSX_MAX_ROWS + 1).subquery()))
    if (n or 0) > audit_export.XLSX_MAX_ROWS:
        return Response(_("所选记录超过 %(n)s 条，一个 Excel 工作表放不下：请缩小筛选范围，或导出 CSV。",
                          n=audit_export.XLSX_MAX_ROWS), 400, mimetype="text/plain; charset=utf-8")
    title = _("审计留痕")
    subtitle = _("筛选条件：%(f)s；导出时间：%(t)s（北京时间）；共 %(n)s 条",
                 f=audit_export.selection_text(args, _filter_label), t=local_time(utcnow(), "yyyy-MM-dd HH:mm:ss"),
                 n=n or 0)
    body = audit_export.workbook_bytes(_people_rows(actor, args), title, subtitle)
    return Response(body, mimetype=XLSX,
                    headers={"Content-Disposition": _filename("xlsx"), "Cache-Control": "no-store"})


@bp.get("/export.jsonl")
@login_required
def export_jsonl() -> Response:
    actor = reader()
    args = request.args.to_dict()
    with get_db().read() as session:
        scoped_entries(session, actor, args)

    def generate() -> Iterator[str]:
        for row in _export_rows(actor, args):
            yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"

    return Response(stream_with_context(generate()), mimetype="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": _filename("jsonl"), "Cache-Control": "no-store"})


PROBLEMS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"entry (?P<a>\d+) is missing \(next entry is (?P<b>\d+)\)"),
     lambda m: _("第 %(a)s 条记录缺失（其后是第 %(b)s 条）：记录被删除。", **m.groupdict())),
    (re.compile(r"entries out of order"), lambda m: _("记录的顺序被打乱。")),
    (re.compile(r"prev_hash does not match"), lambda m: _("本条记录的“前一条哈希”与前一条记录的哈希不符：记录被删除、插入或改动。")),
    (re.compile(r"content does not match its hash"), lambda m: _("记录内容与其哈希不符：记录被篡改。")),
    (re.compile(r"the trail ends at entry (?P<a>\d+) but its head records entry (?P<b>\d+)"),
     lambda m: _("审计链止于第 %(a)s 条，而链头记录的是第 %(b)s 条：末尾的记录被删除。", **m.groupdict())),
    (re.compile(r"(?P<t>\w+) (?P<i>\S+) has no audit entry"),
     lambda m: _("%(t)s %(i)s 没有任何审计记录：它是绕过引擎写入的。", **m.groupdict())),
    (re.compile(r"(?P<t>\w+) (?P<i>\S+) is in state (?P<s>.+) version (?P<v>\S+) but its last entry says "
                r"(?P<s2>.+) version (?P<v2>\S+)"),
     lambda m: _("%(t)s %(i)s 当前为状态 %(s)s（版本 %(v)s），而其最后一条记录为状态 %(s2)s（版本 %(v2)s）："
                 "数据被绕过引擎改动。", **m.groupdict())),
    (re.compile(r"the Merkle tree node stored for entry (?P<a>\d+) does not match"),
     lambda m: _("默克尔树中为第 %(a)s 条记录保存的节点与记录不符：树或记录被改动。", **m.groupdict())),
    (re.compile(r"the Merkle tree lacks entry (?P<a>\d+)"),
     lambda m: _("默克尔树中缺少第 %(a)s 条记录：记录是绕过引擎写入的，或树被删改。", **m.groupdict())),
    (re.compile(r"the Merkle tree holds a node for entry (?P<a>\d+) but the trail has (?P<b>\d+) entries"),
     lambda m: _("默克尔树含有第 %(a)s 条记录的节点，而审计链只有 %(b)s 条：末尾的记录被删除。", **m.groupdict())),
    (re.compile(r"the tree head records"), lambda m: _("链头记录的默克尔树与记录不符：树被改动。")),
    (re.compile(r"(?P<t>\w+) (?P<i>\S+) does not match its last entry (?P<a>\d+)"),
     lambda m: _("%(t)s %(i)s 与其最后一条记录（第 %(a)s 条）所记载的内容不符：数据被绕过引擎或管理功能改动。",
                 **m.groupdict())),
    (re.compile(r"(?P<t>\w+) (?P<i>\S+) has the path (?P<p>\S+) but its parent's gives (?P<q>\S+)"),
     lambda m: _("%(t)s %(i)s 的层级路径 %(p)s 与其上级单位不符（应为 %(q)s）：组织树被绕过管理功能改动。",
                 **m.groupdict())),
    (re.compile(r"(?P<t>\w+) (?P<i>\S+) has entries but no longer exists"),
     lambda m: _("%(t)s %(i)s 有审计记录，但已不存在：数据被删除。", **m.groupdict())),
]


def explain_problem(problem: str | None) -> str:
    for pattern, say in PROBLEMS:
        found = pattern.search(problem or "")
        if found:
            return say(_Named(found))
    return problem or ""


class _Named:
    """A verification problem's match with its subject type (`t`) by name: 案件, 组织, 用户, not its key."""

    def __init__(self, found: re.Match[str]):
        self.found = found

    def groupdict(self) -> dict[str, Any]:
        from .templating import SUBJECT_LABELS

        named = dict(self.found.groupdict())
        if "t" in named:
            named["t"] = str(SUBJECT_LABELS.get(named["t"], named["t"]))
        return named


@bp.post("/verify")
@login_required
def verify() -> Any:
    actor = reader()
    engine = get_engine()
    with get_db().read(snapshot=True) as session:
        result = audit.verify(session, lambda: engine.subjects(session))
        in_scope = count_in_scope(session, actor)
        bad_seq = (result.first_bad or {}).get("seq")
        bad_visible = bool(bad_seq) and session.scalar(
            scoped_entries(session, actor, {}).with_only_columns(AuditEntry.seq).where(AuditEntry.seq == bad_seq)
        ) is not None
    problem = (result.first_bad or {}).get("problem")
    return render_template("audit/verify.html", result=result, explained=explain_problem(problem), problem=problem,
                           bad_visible=bad_visible, at=utcnow(), in_scope=in_scope)
