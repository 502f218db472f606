"""The administration blueprint (admins only) and what its pages share: select options in the form WTForms
prefers, and engine errors shown on a form. The organisation pages (admin.py) and the users' and tokens'
pages (admin_users.py) are both on this blueprint."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from workflow import WorkflowError

from .forms import attach_errors
from .i18n import error_payload, field_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")

try:  # WTForms 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None  # type: ignore[assignment,misc]


def choices(pairs: Any) -> list[Any]:
    """Select options from (value, label) pairs, in the form the installed WTForms prefers."""
    if SelectChoice is None:
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


# field errors of the tree that the shared message table does not know
TREE_MESSAGES = {
    "inside_subtree": _l("不能迁移到本组织或其下级组织之下"),
    "unchanged": _l("已在该上级组织之下"),
}


@bp.before_request
@login_required
def _admins_only() -> None:
    if current_user.role != "admin":
        abort(403)


def admin_field_errors(err: WorkflowError) -> dict[str, str]:
    out = field_errors(err.fields)
    for path, fe in err.fields.items():
        if fe.code in TREE_MESSAGES:
            out[path] = str(TREE_MESSAGES[fe.code])
    return out


def show_errors(form: FlaskForm, err: WorkflowError) -> list[str]:
    """Engine field errors on their inputs; those belonging to none come back as page messages."""
    loose = attach_errors(form, admin_field_errors(err))
    return loose or ([] if err.fields else [error_payload(err)["error"]["message"]])
