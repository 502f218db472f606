"""Every page a user can reach, at a desk (1366×768) and on a phone (360×740): no sideways scrolling.

Each kind of demo user signs in once (one browser context per user) and walks the pages reachable
by links from the home page: lists, reports, the audit explorer and an entry, the admin pages, and
for each workflow one case per state with every step form and document that user is offered. Each
page is measured at both widths: the whole page must not be wider than the window (the element that
sticks out is named when it is), the main navigation's items must all be on screen at 360 px, and
no text may be squeezed into a column one character wide. Screenshots of each workflow's case
page and step forms at both widths are kept under test-artifacts/screenshots/layout/.
"""
from __future__ import annotations

import os
import re
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from tests.browser.conftest import ARTIFACTS
from tests.support_rawkeys import RawKeys
from tests.browser.ui_demo import demo, sign_in  # noqa: F401  (fixture)

DESK = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 740}
SHOTS = ARTIFACTS / "layout"

# one user of each kind, and the preparers whose cases stand in different states
USERS = [
    "prep_logi",  # founding, candidates submitted
    "prep_food",  # founding, election results to submit
    "prep_d3",  # founding, the nomination form (the candidate table)
    "prep_d4",  # founding, the assembly to convene
    "prep_auto",  # founding, the election to record
    "prep_d5",  # inspections: the self-assessment to score
    "prep_prec",  # hardship in every state, inspections, a registered union
    "union_prec",  # the enterprise union's committee: the hardship review and posting
    "com_chen",  # reviewer, community
    "town_zhao",  # reviewer, town (street)
    "fed_li",  # reviewer, district federation
    "auditor",
    "admin",
]

# links not followed: downloads, the language switch, the API
SKIP_EXT = (".csv", ".xlsx", ".jsonl", ".json", ".pdf", ".png", ".svg", ".ico", ".zip")
SKIP_PATH = re.compile(r"^/(api/|openapi|static/|health|logout)|/attachments/\d+|/proof")
CASE_PATH = re.compile(r"^(?:/inspection)?/(?:cases|hardship)/(\d+)(/.*)?$")
DOCUMENT = re.compile(r"/(notice|reply)(/|$)")
CODE_SEGMENT = re.compile(r"^([A-Z]+)-[A-Z0-9-]+$")
# the boxes that may scroll sideways inside the page: genuinely tabular grids and drawings
GRIDS = ".diagram-wrap, .chart-wrap, .mini-table, table.scroll-x"
# UNIONFLOW_LAYOUT_SHOTS=all keeps a screenshot of every page walked, not only the case pages and step forms
EVERY_SHOT = os.environ.get("UNIONFLOW_LAYOUT_SHOTS") == "all"
MAX_PAGES = 150  # per user: a guard against walking a list's thousand pages

MEASURE = """(GRIDS) => {
  const vw = window.innerWidth, doc = document.documentElement;
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\\s+/).join('.');
    return s;
  };
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(name(e));
    return parts.join(' > ');
  };
  const clips = (el) => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      const ox = getComputedStyle(e).overflowX;
      if (ox !== 'visible' && e.getBoundingClientRect().right <= vw + 0.5) return true;
    }
    return false;
  };
  const out = {scrollWidth: doc.scrollWidth, innerWidth: vw, culprits: [], squeezed: [], scrollers: []};
  if (doc.scrollWidth > vw) {
    // the elements sticking out to the right whose parent does not: where the overflow starts
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= vw + 0.5) continue;
      const p = el.parentElement, pr = p && p.getBoundingClientRect();
      if (p && p !== document.body && pr.right > vw + 0.5) continue;
      if (clips(el)) continue;
      out.culprits.push(path(el) + ' (' + Math.round(r.width) + ' px wide, right edge at ' + Math.round(r.right) + ')');
      if (out.culprits.length >= 3) break;
    }
  }
  // a box scrolling sideways inside the page: only a genuine grid may (the scoring sheet, statistics, a diagram)
  for (const el of document.body.querySelectorAll('*')) {
    const ox = getComputedStyle(el).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
        && !el.matches(GRIDS) && !el.closest('header')) {
      out.scrollers.push(path(el) + ' (' + el.clientWidth + ' px showing ' + el.scrollWidth + ')');
      if (out.scrollers.length >= 3) break;
    }
  }
  // text squeezed into a column one character wide (a Chinese name a character a line)
  const walker = document.createTreeWalker(document.getElementById('main') || document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const text = t.nodeValue.trim();
    if (text.length < 3 || !/[\\u4e00-\\u9fff]/.test(text)) continue;
    const el = t.parentElement;
    if (!el || el.closest('svg, .visually-hidden, [hidden]')) continue;
    range.selectNodeContents(t);
    const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
    if (rects.length < 3) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (Math.max(...rects.map((r) => r.width)) < 2.2 * size) {
      out.squeezed.push(path(el) + ' “' + text.slice(0, 12) + '” (' + rects.length + ' lines)');
      if (out.squeezed.length >= 3) break;
    }
  }
  return out;
}"""

NAV = """() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const bad = [];
  const items = Array.from(document.querySelectorAll(
    'header .main-nav a, header .user a, header .user button, header .lang a'));
  for (const a of items) {
    const r = a.getBoundingClientRect(), s = getComputedStyle(a);
    const label = a.textContent.trim();
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden') { bad.push(label + ': not shown'); continue; }
    if (r.left < -0.5 || r.right > vw + 0.5) {
      bad.push(label + ': off screen (' + Math.round(r.left) + '..' + Math.round(r.right) + ')');
      continue;
    }
    // cut off by a scrolling or clipping container in the header
    for (let e = a.parentElement; e && e.tagName !== 'HEADER'; e = e.parentElement) {
      const pr = e.getBoundingClientRect(), ox = getComputedStyle(e).overflowX;
      if (ox !== 'visible' && (r.left < pr.left - 0.5 || r.right > pr.right + 0.5)) {
        bad.push(label + ': cut off by ' + e.className);
        break;
      }
    }
    // covered by something else (its middle must be the link itself)
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = y < vh ? document.elementFromPoint(x, y) : null;
    if (hit && hit !== a && !a.contains(hit)) {
      bad.push(label + ': covered by ' + hit.tagName.toLowerCase() + '.' + hit.className);
    }
  }
  return {count: items.length, bad};
}"""


@pytest.fixture
def layout_demo(demo):  # noqa: F811
    """The demo, with cases in the states it leaves out, so that each step form is offered to someone."""
    from services.accounts import create_user
    from web.demo import DEMO_PASSWORD, _Walker
    from web.extensions import get_db, get_engine

    with get_db(demo).write() as session:
        for username, org, name in (("prep_text", "ENT-TEXT", "滨江纺织筹备组（林涛）"),
                                    ("prep_auto", "ENT-AUTO", "汽车维修筹备组（高远）"),
                                    ("prep_shop", "ENT-SHOP", "便民超市筹备组（马兰）")):
            create_user(session, username=username, password=DEMO_PASSWORD, role="preparer", org=org,
                        display_name=name, actor="demo")
    walker = _Walker(demo, get_engine(demo))
    # founding: the results to sanction (federation), the election to record, an application at a community
    walker.founding("ENT-TEXT", "prep_text", "fed_li", until="sanction", members=(80, 50))
    walker.founding("ENT-AUTO", "prep_auto", "town_zhao", until="record_election", members=(40, 5))
    walker.founding("ENT-SHOP", "prep_shop", "com_chen", until="approve_application", members=(0, 0))
    # inspection: a self-assessment to score, an inspection to carry out, a result to decide
    items = walker.engine.catalog.definition("inspection").extra["checklist"]
    full = {i["id"]: i["max"] for i in items}
    year = walker.today.year
    walker.create("inspection", "DEMO-XG-COLD", "prep_d5", {"year": year})
    case_id = walker.create("inspection", "DEMO-XG-COLD", "prep_d5", {"year": year - 1})
    walker.fire(case_id, "self_assess", "prep_d5", {"scores": full})
    walker.fire(case_id, "record_evaluation", "prep_d5", {"respondents": 100, "satisfied": 93})
    case_id = walker.create("inspection", "DEMO-XG-COLD", "prep_d5", {"year": year - 2})
    walker.fire(case_id, "self_assess", "prep_d5", {"scores": full})
    walker.fire(case_id, "record_evaluation", "prep_d5", {"respondents": 100, "satisfied": 90})
    walker.fire(case_id, "inspect", "fed_wang", {"scores": full, "vetoes": []})
    return demo


def _case_key(app, case_id: int) -> tuple[str, str] | None:
    from web.extensions import get_db
    from workflow.models import Case

    with get_db(app).read() as session:
        row = session.execute(select(Case.workflow, Case.state).where(Case.id == case_id)).first()
    return (row[0], row[1]) if row else None


def _page_key(app, url: str, cases: dict[int, Any]) -> tuple[Any, ...] | None:
    """What makes two pages 'the same page': the route, with a case standing for its workflow and state."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    if path.endswith(SKIP_EXT) or SKIP_PATH.search(path):
        return None
    query = dict(parse_qsl(parts.query))
    if "lang" in query or "format" in query:
        return None
    m = CASE_PATH.match(path)
    if m:
        case_id = int(m.group(1))
        if case_id not in cases:
            cases[case_id] = _case_key(app, case_id)
        rest = re.sub(r"\d+", "{n}", m.group(2) or "")
        workflow, state = cases[case_id] or ("?", "?")
        if DOCUMENT.search(rest):
            state = "any"  # a printed document reads the same in every state
        return ("case", (workflow, state), path.split("/")[1], rest, tuple(sorted(query)))
    segments = []
    for s in path.split("/"):
        code = CODE_SEGMENT.match(s)
        segments.append("{n}" if s.isdigit() else f"{{{code.group(1)}}}" if code else s)
    return ("page", "/".join(segments), tuple(sorted(k for k in query if k != "page")))


def _is_case_page(key: tuple[Any, ...]) -> bool:
    return key[0] == "case"


def _slug(key: tuple[Any, ...]) -> str:
    if not _is_case_page(key):
        return "page" + re.sub(r"[^\w-]+", "-", "-".join([key[1], *key[2]])).rstrip("-")
    wf, state = key[1] or ("?", "?")
    rest = key[3].strip("/").replace("/", "-").replace("{n}", "n") or "case"
    return f"{wf}-{state}-{rest}"


def _kind_of_user(app, username: str) -> tuple[str, str]:
    """Users of one kind (role and level of organisation) see the same pages: one walk covers them."""
    from services.accounts import find_user
    from web.extensions import get_db

    with get_db(app).read() as session:
        user = find_user(session, username)
        return user.role, user.org.kind if user.org else "-"


def _walk(page, app, username: str, seen: set[tuple[Any, ...]],
          shots: set[tuple[Any, ...]], raw: RawKeys | None = None, lang: str = "zh") -> tuple[list[str], list[str]]:
    """Sign in, walk every page reachable from the home page not yet walked by this kind of user, measure each,
    and read each for a raw key (a state, trigger, field or organisation code shown to a person)."""
    page.set_viewport_size(DESK)
    sign_in(page, username, "main h1, main h2")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    cases: dict[int, Any] = {}
    # the home page and the case list are walked by every user: their links lead to the user's own cases
    queue: deque[str] = deque([origin + "/", origin + "/cases"])
    seen.update(_page_key(app, u, cases) for u in queue)
    failures: list[str] = []
    walked: list[str] = []
    nav_checked = False
    while queue and len(walked) < MAX_PAGES:
        url = queue.popleft()
        page.set_viewport_size(DESK)
        response = page.goto(url)
        rel = url[len(origin):]
        walked.append(rel)
        if response is None or response.status >= 400:
            continue  # a page refused to this user is no layout question (refusals are tested elsewhere)
        key = _page_key(app, url, cases)
        # (the suite's own sample workflow, a fixture of the tests, labels none of its fields: not read)
        if raw is not None and "/sample" not in rel and "text/html" in (response.headers.get("content-type") or ""):
            for finding in raw.find(page.content(), lang):
                failures.append(f"{username} {rel}: raw key {finding.key!r} shown ({finding.kind}): …{finding.context}…")
        for width, size in (("desk", DESK), ("phone", PHONE)):
            page.set_viewport_size(size)
            m = page.evaluate(MEASURE, GRIDS)
            where = f"{username} {rel} at {size['width']} px"
            if m["scrollWidth"] > m["innerWidth"]:
                failures.append(f"{where}: the page is {m['scrollWidth']} px wide; "
                                f"sticking out: {'; '.join(m['culprits']) or '?'}")
            if m["scrollers"]:
                failures.append(f"{where}: scrolls sideways inside: {'; '.join(m['scrollers'])}")
            if m["squeezed"]:
                failures.append(f"{where}: text a character a line: {'; '.join(m['squeezed'])}")
            if width == "phone":
                nav = page.evaluate(NAV)
                if nav["bad"]:
                    failures.append(f"{where}: navigation not reachable: {'; '.join(nav['bad'])}")
                nav_checked = nav_checked or nav["count"] > 0
            if key and (_is_case_page(key) or EVERY_SHOT) and (key, width) not in shots:
                shots.add((key, width))
                page.screenshot(path=str(SHOTS / f"{_slug(key)}-{width}{'' if lang == 'zh' else '-' + lang}.png"),
                                full_page=True)
        page.set_viewport_size(DESK)
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            href = href.split("#")[0]
            if not href.startswith(origin + "/"):
                continue
            k = _page_key(app, href, cases)
            if k is None or k in seen:
                continue
            seen.add(k)
            queue.append(href)
    assert len(walked) < MAX_PAGES, f"{username}: the walk did not end within {MAX_PAGES} pages: {walked[-20:]}"
    if not nav_checked:
        failures.append(f"{username}: no navigation found on any page")
    return walked, failures


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_page_fits_a_phone_and_a_desk(new_page, layout_demo, locale):
    """Each kind of user, one browser context each, in Chinese and in English (whose labels are longer: a
    pill reading "Next: submit once the posting period has run"); the failures of all of them reported
    together."""
    lang = locale.split("-")[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen_by_kind: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
    shots: set[tuple[Any, ...]] = set()
    failures: list[str] = []
    report = []
    total = 0
    started = time.monotonic()
    with layout_demo.app_context():
        raw = RawKeys.for_app(layout_demo)
    for username in USERS:
        t0 = time.monotonic()
        seen = seen_by_kind.setdefault(_kind_of_user(layout_demo, username), set())
        walked, failed = _walk(new_page(locale), layout_demo, username, seen, shots, raw, lang)
        failures += failed
        total += len(walked)
        report.append(f"{username}: {len(walked)} pages in {time.monotonic() - t0:.1f} s: " + " ".join(walked))
    print(f"{total} pages in {time.monotonic() - started:.0f} s", *report, sep="\n")
    assert not failures, f"{len(failures)} layout or raw-key failures:\n" + "\n".join(failures)
