"""Paging of the long lists (cases, the review queue, the trail, the admin tables): the page asked for, how
far a list counts its rows, and the organisation a list is filtered by."""
from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts import find_org
from workflow import Actor, Organisation, can_view, visible_orgs

from .i18n import lang

# lists count their rows up to this many (and then say "more than"): counting 100,000 cases costs more than the page
COUNT_LIMIT = 2000


def page_number() -> int:
    """The ?page= asked for: 1 when it is missing, not a number or below 1."""
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def filter_org(session: Session, actor: Actor) -> Organisation | None:
    """The ?org= filter: an organisation of the actor's subtree by its code, its full name, or the one name
    that contains what was typed; else a page saying what was not found (404) or was ambiguous (400)."""
    typed = (request.args.get("org") or "").strip()
    if not typed:
        return None
    org = find_org(session, typed)
    if org is not None and can_view(actor, org):
        return org
    named = session.scalars(select(Organisation).where(visible_orgs(actor), Organisation.name == typed)).first()
    if named is not None:
        return named
    like = session.scalars(select(Organisation)
                           .where(visible_orgs(actor), Organisation.name.contains(typed, autoescape=True))
                           .order_by(Organisation.path).limit(6)).all()
    if len(like) == 1:
        return like[0]
    if like:
        zh = lang() == "zh"
        names = ("、" if zh else ", ").join(o.name for o in like[:5])
        names += ("等" if zh else " …") if len(like) > 5 else ""
        message = _("有多个单位的名称包含“%(q)s”（%(names)s），请输入完整的单位名称或代码。", q=typed, names=names)
        status = 400
    else:
        message = _("在您的辖区内没有找到名称或代码为“%(q)s”的单位。", q=typed)
        status = 404
    abort(make_response(render_template("errors/error.html", status=status, title=_("没有找到该单位")
                                        if status == 404 else _("请指明单位"), message=message), status))
