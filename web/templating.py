"""What every template may use: labels of roles, kinds, states and triggers, times, the language switch.

Texts of the pages are msgids in Chinese (see web/i18n_catalog.py); labels
that come with the definitions ({zh, en}) go through `text`.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Mapping

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from definitions import Definition, FieldSpec
from workflow import DECIDED_ON

from .diagram import escape_states, path_labels
from .extensions import get_engine
from .i18n import (
    ALERT_LABELS,
    ENTITY_LABELS,
    ENTITY_OP_LABELS,
    GENDER_LABELS,
    KIND_LABELS,
    MEMBER_STATUS_LABELS,
    ROLE_LABELS,
    UNION_STATUS_LABELS,
    days_since,
    html_lang,
    lang,
    lang_url,
    local_date,
    local_time,
    pick,
    reason_message,
    text,
)
from .org_names import ORG_KEYS, org_name

# values the organisations' and users' entries record, by key
SYSTEM_VALUES = {"kind": KIND_LABELS, "role": ROLE_LABELS, "union_status": UNION_STATUS_LABELS,
                 "alert": ALERT_LABELS, "status": MEMBER_STATUS_LABELS, "gender": GENDER_LABELS,
                 "op": ENTITY_OP_LABELS, "entity": ENTITY_LABELS}

# entries of the trail that are not steps of a workflow
ADMIN_TRIGGERS = {
    "create": _l("创建案件"),
    "create_org": _l("新建组织"),
    "update_org": _l("修改组织"),
    "move_org": _l("迁移组织"),
    "create_user": _l("新建用户"),
    "update_user": _l("修改用户"),
    "disable_user": _l("停用用户"),
    "enable_user": _l("启用用户"),
    "reset_password": _l("重置密码"),
    "end_sessions": _l("退出全部登录"),
    "issue_token": _l("签发令牌"),
    "revoke_token": _l("吊销令牌"),
    "import_create": _l("导入新增单位"),
    "import_update": _l("导入更新单位"),
    "attach": _l("上传材料"),
    "remind": _l("办理提醒"),
    "escalate": _l("逾期上报"),
    "reassign": _l("转办审批"),
    "member_left": _l("登记退会"),
    "member_deceased": _l("登记去世"),
    "member_import": _l("导入会员名册"),
    "claim": _l("认领"),
    "release": _l("释放"),
    "assign": _l("指派"),
    "delegate": _l("委托代理"),
    "end_delegation": _l("提前结束代理"),
    "issue_document": _l("签发文书PDF"),
}
SUBJECT_LABELS = {"case": _l("案件"), "attachment": _l("材料"), "org": _l("组织"), "user": _l("用户"),
                  "member": _l("会员"), "delegation": _l("代理安排"), "transfer_cert": _l("接转凭证")}
# keys that the engine adds to an entry's data
ENTRY_KEYS = {"computed": _l("系统计算"), "alert": _l("提醒类型"), "due_on": _l("办理期限"),
              "notified": _l("通知对象"), "notified_org": _l("通知单位"), "org": _l("单位信息变更"), "competent_org": _l("审批单位"),
              "changes": _l("变更内容"), "name": _l("名称"), "kind": _l("类型"), "parent": _l("上级组织"),
              "employees": _l("职工人数"), "female_employees": _l("女职工人数"), "credit_code": _l("统一社会信用代码"),
              "role": _l("角色"), "display_name": _l("姓名"), "address": _l("地址"), "from_parent": _l("原上级组织"),
              "to_parent": _l("新上级组织"), "from_path": _l("原路径"), "to_path": _l("新路径"),
              "moved": _l("迁移的组织数"), "token_id": _l("令牌编号"), "expires_at": _l("到期日"),
              "minted_with": _l("签发所用令牌"), "sessions_ended": _l("登录已全部失效"),
              "file": _l("导入文件"), "row": _l("行号"), "union_status": _l("建会状态"),
              "member_count": _l("会员人数"), "case_id": _l("案件编号"), "attachment_id": _l("材料编号"),
              "material": _l("材料"), "filename": _l("文件名"), "size": _l("大小（字节）"),
              "content_type": _l("文件类型"), "sha256": _l("SHA-256"), "code": _l("组织代码"),
              "assignee": _l("办理人"), "previous_assignee": _l("原办理人"), "on_behalf_of": _l("代理"),
              "delegation": _l("代理编号"), "previous_competent_org": _l("原审批单位"), "to": _l("代理人"),
              "starts_on": _l("开始日期"), "ends_on": _l("结束日期"), "ended_on": _l("提前结束于"),
              "title": _l("标题"),
              # the rows a step changed besides the case (会员名册), and a member's own entries
              "entities": _l("名册变更"), "entity": _l("记录类型"), "op": _l("操作"), "key": _l("记录编号"),
              "values": _l("内容"), "case": _l("案件编号"), "standalone": _l("单独登记"),
              "org_id": _l("所在工会编号"), "id_number": _l("身份证号"), "gender": _l("性别"),
              "born_on": _l("出生日期"), "joined_on": _l("入会日期"), "member_no": _l("会员证号"),
              "employer_id": _l("工作单位编号"), "employer_name": _l("工作单位名称"), "group_code": _l("八大群体"),
              "status": _l("状态"), "left_on": _l("退会（去世）日期"), "left_comment": _l("说明"),
              # a transfer certificate's row (会籍接转凭证): the hash of its code, never the code
              "code_hash": _l("接转码哈希值"), "member_id": _l("会员编号（名册）"), "valid_until": _l("有效期至"),
              "receiving_org_id": _l("接收工会编号")}


def review_states() -> dict[str, list[str]]:
    """Per workflow, the states in which a reviewer decides something."""
    out: dict[str, list[str]] = {}
    for name, d in get_engine().catalog.definitions.items():
        out[name] = sorted({t.source for t in d.transitions if "reviewer" in t.roles and "preparer" not in t.roles})
    return out


def _specs(d: Definition) -> dict[str, FieldSpec]:
    """Every field a definition's steps take, by name (nested object fields included)."""
    out: dict[str, FieldSpec] = {}

    def add(spec: FieldSpec) -> None:
        out.setdefault(spec.name, spec)
        for f in spec.fields:
            add(f)
        if spec.items is not None:
            for f in spec.items.fields:
                add(f)

    for spec in d.creation.data:
        add(spec)
    for t in d.transitions:
        for spec in t.data:
            add(spec)
    return out


def labels_by_id(section: Any) -> dict[str, Any]:
    """The labels in one of a definition's `extra` sections, by id.

    A section is a list of {id, title}, or a mapping from id to a label ({zh, en})
    or to {label: {zh, en}, ...}.
    """
    out: dict[str, Any] = {}
    if isinstance(section, (list, tuple)):
        for item in section:
            if isinstance(item, Mapping) and "id" in item and isinstance(item.get("title"), Mapping):
                out[str(item["id"])] = item["title"]
    elif isinstance(section, Mapping):
        for key, item in section.items():
            label = item.get("label", item) if isinstance(item, Mapping) else None
            if isinstance(label, Mapping) and "zh" in label:
                out[str(key)] = label
    return out


class DefinitionLabels:
    """How the pages name what a workflow's entries and cases record.

    Keys: the fields its steps take, then `extra.fact_labels` (what its rules
    compute), then the ids of the sections listed in `extra.id_labels.keys`
    (checklist items as keys of the scores, say). Values: `extra.enum_labels`
    by key, then the sections `extra.id_labels.values` names for that key.
    """

    def __init__(self, d: Definition):
        extra = d.extra
        self.keys: dict[str, Any] = {name: spec.label for name, spec in _specs(d).items() if spec.label}
        for key, label in (extra.get("fact_labels") or {}).items():
            self.keys.setdefault(key, label)
        id_labels = extra.get("id_labels") or {}
        for section in id_labels.get("keys") or ():
            for key, label in labels_by_id(extra.get(section)).items():
                self.keys.setdefault(key, label)
        self.values: dict[str, dict[str, Any]] = {
            key: labels_by_id(labels) for key, labels in (extra.get("enum_labels") or {}).items()}
        for key, sections in (id_labels.get("values") or {}).items():
            found = self.values.setdefault(key, {})
            for section in sections:
                for value, label in labels_by_id(extra.get(section)).items():
                    found.setdefault(value, label)
        # an attachment's entry records its material by the id of the definition's list of materials
        if extra.get("materials"):
            self.values.setdefault("material", labels_by_id(extra.get("materials")))
        self.titles: Mapping[str, Any] = extra.get("titles", {}) or {}
        # amounts of yuan: the money fields and the facts listed as such (`extra.money_facts`)
        self.money = frozenset(n for n, spec in _specs(d).items() if spec.type == "money") | frozenset(
            extra.get("money_facts") or ())
        # the data fields that name a party's organisation by its code
        self.org_fields = frozenset(p.field for p in d.parties if p.field)

    def key(self, key: str) -> Any:
        return self.keys.get(key)

    def value(self, key: str | None, value: Any) -> Any:
        plain = isinstance(value, (str, int)) and not isinstance(value, bool)
        label = self.values.get(key or "", {}).get(str(value)) if plain else None
        if label is None and isinstance(value, str):
            label = self.titles.get(value)
        return label if isinstance(label, Mapping) else None


_LABELS: dict[str, DefinitionLabels] = {}


def definition_labels(d: Definition) -> DefinitionLabels:
    """A definition's labels, made once per definition (by its fingerprint)."""
    found = _LABELS.get(d.fingerprint)
    if found is None:
        found = _LABELS[d.fingerprint] = DefinitionLabels(d)
    return found


def mapping_text(value: Mapping[str, Any]) -> str | None:
    """A recorded mapping that reads as one text: a label or reason ({zh, en}, perhaps with its code
    and params) in the page's language, or a fraction ({numerator, denominator}) as "n / d"."""
    keys = set(value)
    if isinstance(value.get("zh"), str) and keys <= {"zh", "en", "code", "params"}:
        return text(value)
    if keys == {"numerator", "denominator"}:
        return f"{value['numerator']} / {value['denominator']}"
    return None


PUNCTUATION = {"zh": {"(": "（", ")": "）", ",": "、", ";": "；", ":": "："},
               "en": {"(": " (", ")": ")", ",": ", ", ";": "; ", ":": ": "}}


def punct(mark: str) -> str:
    """A punctuation mark in the page's language: full-width in Chinese."""
    return PUNCTUATION[lang()][mark]


def paren(inner: Any) -> Markup:
    """`inner` in brackets: （…） in Chinese, " (…)" in English; `inner` is escaped unless it is Markup."""
    return Markup(punct("(")) + (inner if isinstance(inner, str) else str(inner)) + Markup(punct(")"))


def step_data(data: Any) -> Any:
    """An entry's recorded data without its business date (shown beside the recording time instead)."""
    if isinstance(data, Mapping) and DECIDED_ON in data:
        return {k: v for k, v in data.items() if k != DECIDED_ON}
    return data


def simple_data(data: Any, most: int = 4) -> bool:
    """Few plain values: shown inline in the timeline rather than folded away."""
    if not isinstance(data, Mapping) or len(data) - ("_digest" in data) > most:
        return False
    return all(isinstance(v, (str, int, float, bool)) or v is None
               or (isinstance(v, list) and all(isinstance(x, (str, int)) for x in v)) for v in data.values())


def money(value: Any, blank: str = "—") -> str:
    """An amount of yuan as the pages show it: to the fen, with thousands separators ("12,345.60");
    `blank` for no amount. Amounts are recorded as decimal strings, never floats: the digits stay."""
    if value is None or value == "":
        return blank
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def init_app(app: Flask) -> None:
    engine = get_engine(app)
    tones: dict[tuple[str, str], str] = {}

    def definition(workflow: str) -> Definition | None:
        return engine.catalog.definitions.get(workflow)

    def workflow_title(name: str) -> str:
        d = definition(name)
        return text(d.title, name) if d else name

    def state_name_label(workflow: str, state: str | None) -> str:
        d = definition(workflow)
        if d is None or state is None:
            return state or "—"
        try:
            return text(d.state(state).label, state)
        except KeyError:
            return state

    def state_label(case: Any) -> str:
        try:
            return text(engine.definition_of(case).state(case.state).label, case.state)
        except KeyError:
            return case.state

    def state_tone(workflow: str, state: str | None) -> str:
        """done, ended (closed without success), review (a reviewer decides) or open."""
        key = (workflow, state or "")
        if key not in tones:
            d = definition(workflow)
            tone = "open"
            if d is not None and state:
                try:
                    st = d.state(state)
                except KeyError:
                    st = None
                if st is not None and st.final:
                    tone = "ended" if state in d.ended_states \
                        else "done"
                elif state in review_states().get(workflow, []):
                    tone = "review"
            tones[key] = tone
        return tones[key]

    def trigger_label(workflow: str | None, trigger: str) -> str:
        if trigger in ADMIN_TRIGGERS:
            return str(ADMIN_TRIGGERS[trigger])
        d = definition(workflow or "")
        return text(d.trigger_label(trigger), trigger) if d else trigger

    def labels_of(workflow: str | None) -> DefinitionLabels | None:
        d = definition(workflow or "")
        if d is None:
            return None
        return definition_labels(d)

    def data_label(workflow: str | None, key: str, parent: str | None = None) -> str:
        """A recorded key's label. At the top of an entry the engine's own keys come first; inside a
        recorded value (`parent`) the workflow's (a dimension `org` of the scores is no organisation)."""
        found = labels_of(workflow)
        label = found.key(key) if found is not None else None
        if key in ENTRY_KEYS and (parent is None or label is None):
            return str(ENTRY_KEYS[key])
        return text(label, key) if label is not None else key

    def value_label(workflow: str | None, key: str | None, value: Any) -> Any:
        """An enumerated value (or an id of the definition's lists) shown with its label where there is one;
        the organisations' and users' own values (kind, role, union status) where the definition has none."""
        found = labels_of(workflow)
        if found is not None and key in found.money and not isinstance(value, bool):
            return money(value)
        label = found.value(key, value) if found is not None else None
        if label is not None:
            return text(label, str(value))
        if isinstance(value, str) and (key in ORG_KEYS or (found is not None and key in found.org_fields)):
            return org_name(value)
        system = SYSTEM_VALUES.get(key or "")
        return pick(system[value], value) if system is not None and value in system else value

    def profile_title(name: str) -> str:
        found = engine.catalog.profiles.get(name)
        return text(found.title, name) if found is not None else name

    def entry_workflow(e: Mapping[str, Any], workflow_of: Mapping[str, str]) -> str | None:
        """The workflow an entry belongs to: its case's (a case's, an attachment's, or an organisation's entry
        that a case's step wrote), to label its trigger and states."""
        if e.get("subject_type") in ("case", "attachment"):
            return workflow_of.get(str(e.get("subject_id", "")).split(":")[0])
        data = e.get("data")
        case_id = data.get("case_id") if isinstance(data, Mapping) else None
        if case_id is None and isinstance(data, Mapping):  # a roster row's entry written by a case's step
            case_id = data.get("case")
        return workflow_of.get(str(case_id)) if case_id is not None else None

    def nav_current(*prefixes: str) -> bool:
        endpoint = request.endpoint or ""
        return any(endpoint == p or endpoint.startswith(p + ".") for p in prefixes)

    app.jinja_env.filters["role_name"] = lambda r: pick(ROLE_LABELS.get(r), r)
    app.jinja_env.filters["money"] = money
    # globals rather than a context processor, so that imported macros see them too
    app.jinja_env.globals.update({
            "lang": lang,
            "html_lang": html_lang,
            "lang_url": lang_url,
            "text": text,
            "reason_text": reason_message,
            "local_time": local_time,
            "local_date": local_date,
            "days_since": days_since,
            "role_label": lambda r: pick(ROLE_LABELS.get(r), r),
            "kind_label": lambda k: pick(KIND_LABELS.get(k), k),
            "union_status_label": lambda s: pick(UNION_STATUS_LABELS.get(s), s),
            "subject_label": lambda s: str(SUBJECT_LABELS.get(s, s)),
            "workflow_title": workflow_title,
            "state_label": state_label,
            "state_name_label": state_name_label,
            "state_tone": state_tone,
            "trigger_label": trigger_label,
            "data_label": data_label,
            "value_label": value_label,
            "mapping_text": mapping_text,
            "org_name": org_name,
            "entry_workflow": entry_workflow,
            "profile_title": profile_title,
            "nav_current": nav_current,
            "simple_data": simple_data,
            "step_data": step_data,
            "punct": punct,
            "paren": paren,
            "path_labels": path_labels,
            "escape_states": escape_states,
            "workflows": engine.catalog.definitions,
        })
