"""Language choice (Chinese first, English by choice) and the texts of labels and reasons.

Page texts are gettext msgids written in Chinese; the English catalogue lives in
web/translations (see web/i18n_catalog.py for how it is kept up to date).
Labels that come with the definitions ({zh, en}) go through `text`, the names of
the system's own values (roles, kinds, union statuses) through `pick`, reasons
through `reason_message`. Timestamps are stored in UTC and shown in the
deployment's time zone (Asia/Shanghai) by `local_time`.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from flask import current_app, g, has_request_context, request, session, url_for
from flask_babel import format_datetime

from definitions import Label
from workflow import FieldError, Reason, WorkflowError, error_message, field_message

LANGUAGES = ("zh_CN", "en")
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

# the names of the system's own values (not a definition's) in both languages, through `pick`
ROLE_LABELS = {
    "preparer": ("经办人", "Preparer"),
    "reviewer": ("审核人", "Reviewer"),
    "auditor": ("审计人员", "Auditor"),
    "admin": ("系统管理员", "Administrator"),
    "system": ("系统", "System"),  # the actor of the reminders and escalations the deadline sweep writes
}
KIND_LABELS = {
    "federation": ("总工会", "Federation"),
    "town": ("乡镇(街道)工会", "Town union"),
    "community": ("社区工会", "Community union"),
    "enterprise": ("企事业单位", "Enterprise"),
}
# the deadline alerts (办理时限, domain.md §6) and the other notifications of the inbox
ALERT_LABELS = {"due_soon": ("即将到期", "Due soon"), "overdue": ("已逾期", "Overdue"),
                "escalated": ("逾期上报", "Escalated"), "returned": ("被退回", "Returned"),
                "waiting": ("待办理", "Waiting for you"), "assigned": ("指派给您", "Assigned to you"),
                "decided": ("已办结", "Decided")}
# the roster (会员名册): a member's status and gender, what a change of a recorded row was, and the rows' kinds
MEMBER_STATUS_LABELS = {"active": ("在册", "Active"), "transferred_out": ("已转出", "Transferred out"),
                        "left": ("已退会", "Left"), "deceased": ("已去世", "Deceased"),
                        # and a transfer certificate's (会籍接转凭证, workflows/transfer)
                        "issued": ("已开具", "Issued"), "redeemed": ("已接收", "Redeemed"),
                        "expired": ("已过期", "Expired")}
GENDER_LABELS = {"male": ("男", "Male"), "female": ("女", "Female")}
ENTITY_OP_LABELS = {"create": ("新建", "Created"), "update": ("变更", "Changed")}
ENTITY_LABELS = {"member": ("会员", "Member"), "transfer_cert": ("接转凭证", "Transfer certificate")}
UNION_STATUS_LABELS = {"none": ("未建会", "No union"), "founding": ("筹建中", "Founding"),
                       "founded": ("已建会", "Founded")}


def remember_choice() -> None:
    """?lang=en or ?lang=zh_CN switches the pages' language for the rest of the session (the API has none)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and not request.path.startswith("/api/"):
        session["lang"] = asked


def select_locale() -> str:
    """?lang= (remembered in the session), then the user's choice, then Accept-Language; zh_CN by default."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    user = getattr(g, "user_language", None)
    if user in LANGUAGES:
        return user
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh_CN"


def lang() -> str:
    """"en" or "zh": the language of the page being rendered."""
    try:
        cached = g.get("uf_lang")
    except RuntimeError:  # outside a request or app context
        return "zh"
    if cached is None:  # resolved once per request, from the same choice Babel's locale is made of
        cached = g.uf_lang = "en" if has_request_context() and select_locale() == "en" else "zh"
    return cached


def pick(pair: tuple[str, str] | None, fallback: str = "") -> str:
    if pair is None:
        return fallback
    return pair[1] if lang() == "en" else pair[0]


def html_lang() -> str:
    return "en" if lang() == "en" else "zh-CN"


def lang_url(code: str) -> str:
    """The current page in another language (a relative URL keeping the query string)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    if request.endpoint and request.url_rule is not None and request.method == "GET":
        try:
            return url_for(request.endpoint, **(request.view_args or {}), **args)
        except Exception:  # noqa: BLE001 - an endpoint that cannot be rebuilt falls back to the query
            pass
    from urllib.parse import urlencode

    return "?" + urlencode(args, doseq=True)


def text(label: Label | Mapping[str, str] | None, fallback: str = "") -> str:
    if label is None:
        return fallback
    if isinstance(label, Label):
        return label.get(lang())
    return label.get("en" if lang() == "en" else "zh") or fallback


def reason_message(reason: Reason) -> str:
    reasons = current_app.extensions["unionflow.engine"].catalog.reasons
    label = reasons.get(reason.code)
    if label is None:
        return error_message(reason.code, lang())
    template = label.get(lang())
    try:
        return template.format(**{k: _show(k, v, reason.params) for k, v in reason.params.items()})
    except (KeyError, IndexError, ValueError):
        return template


def _show(key: str, value: Any, params: Mapping[str, Any]) -> Any:
    """A reason's parameter as the message shows it: roles, kinds and states by their names, never their codes."""
    if key == "role":  # a role by its name on the pages (经办人), not its code
        return pick(ROLE_LABELS.get(value), value)
    if key == "kind":
        return pick(KIND_LABELS.get(value), value)
    if key == "state" and isinstance(params.get("workflow"), str):  # by the label its workflow gives it
        definition = current_app.extensions["unionflow.engine"].catalog.definitions.get(params["workflow"])
        try:
            return text(definition.state(value).label, value) if definition is not None else value
        except KeyError:
            return value
    if isinstance(value, Mapping) and isinstance(value.get("zh"), str):
        return text(value)
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if lang() == "zh" else ", ".join(str(v) for v in value)
    return value


def field_errors(fields: Mapping[str, FieldError], labels: Any = None) -> dict[str, str]:
    """Each field's error in words; the choices a field takes by their labels (`labels`, the definition's
    DefinitionLabels, by the field's name), never their codes."""
    out = {}
    for path, err in fields.items():
        params = err.params
        if err.code == "not_in_choices" and isinstance(params.get("choices"), str):
            key = re.sub(r"\[\d+\]", "", path).split(".")[-1]
            params = {**params, "choices": _choices(params["choices"].split(", "), key, labels)}
        out[path] = field_message(err.code, params, lang())
    return out


def _choices(values: list[str], key: str, labels: Any) -> str:
    named = []
    for v in values:
        label = labels.value(key, v) if labels is not None else None
        named.append(text(label, v) if label else pick(KIND_LABELS.get(v), v))
    return ("、" if lang() == "zh" else ", ").join(named)


def error_payload(err: WorkflowError, labels: Any = None) -> dict[str, Any]:
    reasons = [{"code": r.code, "message": reason_message(r), **({"params": _jsonable(r.params)} if r.params else {})}
               for r in err.reasons]
    if err.code in ("guard_failed", "invalid_input") or not reasons:
        message = error_message(err.code, lang())
        if err.code == "guard_failed" and reasons:
            message = f"{message}：{'；'.join(r['message'] for r in reasons)}" if lang() == "zh" else \
                f"{message}: {'; '.join(r['message'] for r in reasons)}"
    else:
        message = reasons[0]["message"]
    body: dict[str, Any] = {"code": err.code, "message": message, "reasons": reasons}
    if err.fields:
        body["fields"] = field_errors(err.fields, labels)
    return {"error": body}


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        out[k] = list(v) if isinstance(v, tuple) else (v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v))
    return out


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def local_time(value: datetime | str | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC timestamp (a datetime or the trail's ISO text) shown in Asia/Shanghai."""
    moment = _utc(value)
    return format_datetime(moment, fmt) if moment is not None else ""


def local_date(value: datetime | str | None) -> str:
    return local_time(value, "yyyy-MM-dd")


def days_since(value: datetime | None, now: datetime | None = None) -> int | None:
    """Whole days between a UTC timestamp and now."""
    moment = _utc(value)
    if moment is None:
        return None
    now = now or datetime.now(timezone.utc)
    return max(0, (now - moment).days)
