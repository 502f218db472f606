"""Language choice (Chinese first, English by choice) and the texts of labels and reasons."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from flask import current_app, g, request, session
from flask_babel import format_datetime

from definitions import Label
from workflow import FieldError, Reason, WorkflowError
from workflow.messages import error_message, field_message

LANGUAGES = ("zh_CN", "en")


def select_locale() -> str:
    """?lang= (remembered in the session), then the user's choice, then Accept-Language; zh_CN by default."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    user = getattr(g, "user_language", None)
    if user in LANGUAGES:
        return user
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh_CN"


def lang() -> str:
    try:
        from flask_babel import get_locale

        loc = get_locale()
        return "en" if loc is not None and loc.language == "en" else "zh"
    except RuntimeError:
        return "zh"


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
        return template.format(**{k: _show(v) for k, v in reason.params.items()})
    except (KeyError, IndexError, ValueError):
        return template


def _show(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if lang() == "zh" else ", ".join(str(v) for v in value)
    return value


def field_errors(fields: Mapping[str, FieldError]) -> dict[str, str]:
    return {path: field_message(err.code, err.params, lang()) for path, err in fields.items()}


def error_payload(err: WorkflowError) -> dict[str, Any]:
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
        body["fields"] = field_errors(err.fields)
    return {"error": body}


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        out[k] = list(v) if isinstance(v, tuple) else (v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v))
    return out


def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC timestamp shown in the deployment's time zone (Asia/Shanghai)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return format_datetime(value, fmt)
