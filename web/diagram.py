"""The workflow drawn as an inline SVG, with the current state and the path taken marked.

Layout, computed on the server (no JavaScript, no external service):

* states are ranked by their distance from the initial state, one row per
  rank; within a row a state sits under its parents, and among equals the
  state that leads on comes first (the main column), the side states
  (rejected, returned …) to its right;
* a state that can be reached from (nearly) every open state, such as
  "withdrawn", is drawn once in the last row without its many arrows; only
  the arrow actually taken into it is drawn;
* arrows to the next row are straight; arrows going back, or skipping rows,
  are curves in the margins, so they never cross a state box;
* the path taken is drawn in the accent colour, visited states tinted, the
  current state filled. Self-loops (an objection, a yearly recheck) are left
  out: they do not change the state.
"""
from __future__ import annotations

from collections import deque
from html import escape

from flask_babel import gettext as _

from definitions import Definition

from .i18n import text

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 172, 38, 40, 22, 12
GUTTER, BULGE, BULGE_STEP = 48, 18, 9
LINE_H = 15


def escape_states(d: Definition) -> set[str]:
    """The states a way out open at every step leads to (`way: leave`, e.g. withdrawal): never the next step,
    drawn once in the last row."""
    return set(d.left_states)


def _ranks(d: Definition, skip: set[str]) -> dict[str, int]:
    rank = {d.initial: 0}
    queue = deque([d.initial])
    while queue:
        s = queue.popleft()
        for t in d.transitions_from(s):
            if t.dest not in rank and t.dest not in skip:
                rank[t.dest] = rank[s] + 1
                queue.append(t.dest)
    last = max(rank.values(), default=0)
    for st in d.states:
        if st.name not in rank:
            rank[st.name] = last + 1
    return rank


def _wrap(label: str, width: int = NODE_W - 16) -> list[str]:
    """One or two lines that fit the box (CJK characters ~13 px, others ~7 px at 13 px type)."""
    def size(s: str) -> int:
        return sum(13 if ord(c) > 0x2E80 else 7 for c in s)

    if size(label) <= width:
        return [label]
    if " " in label:
        words, first = label.split(" "), ""
        for i, w in enumerate(words):
            if size((first + " " + w).strip()) > width:
                return [first.strip(), " ".join(words[i:])]
            first = (first + " " + w).strip()
        return [first]
    half = (len(label) + 1) // 2
    return [label[:half], label[half:]]


def workflow_svg(d: Definition, current: str | None, path: list[str] | None = None) -> str:
    path = [p for p in (path or []) if p]
    side = escape_states(d)
    ranks = _ranks(d, side)
    last = max((r for s, r in ranks.items() if s not in side), default=0)
    for s in side:
        ranks[s] = last + 1
    leads_on = {t.source for t in d.transitions if ranks.get(t.dest, 0) > ranks.get(t.source, 0) and t.dest not in side}
    rows: dict[int, list[str]] = {}
    for st in d.states:
        rows.setdefault(ranks[st.name], []).append(st.name)
    order = [s.name for s in d.states]
    col: dict[str, int] = {}
    for r in sorted(rows):
        # under their parents (fewer crossings); among equals, the state that leads on comes first
        def parents(n: str, r: int = r) -> float:
            cols = [col[t.source] for t in d.transitions if t.dest == n and t.source in col and ranks[t.source] < r]
            return sum(cols) / len(cols) if cols else 0.0

        rows[r].sort(key=lambda n: (parents(n), n not in leads_on, order.index(n)))
        col.update({n: i for i, n in enumerate(rows[r])})
    columns = max(len(r) for r in rows.values())

    visited = set(path)
    taken = {(a, b) for a, b in zip(path, path[1:]) if a != b}
    edges: list[tuple[str, str, str]] = []  # (source, dest, trigger label)
    seen: set[tuple[str, str]] = set()
    for t in d.transitions:
        key = (t.source, t.dest)
        if t.source == t.dest or key in seen or (t.dest in side and key not in taken):
            continue
        seen.add(key)
        edges.append((t.source, t.dest, text(t.label, t.trigger)))

    def route(a: str, b: str) -> str:
        if ranks[b] == ranks[a] + 1 or ranks[a] == ranks[b]:
            return "direct"
        return "left" if col[a] == 0 and col[b] == 0 else "right"

    left_needed = any(route(a, b) == "left" for a, b, _l in edges)
    right_needed = any(route(a, b) == "right" for a, b, _l in edges)
    x0 = PAD + (GUTTER if left_needed else 0)
    width = x0 + columns * (NODE_W + GAP_X) - GAP_X + PAD + (GUTTER if right_needed else 0)
    pos = {n: (x0 + col[n] * (NODE_W + GAP_X), PAD + ranks[n] * (NODE_H + GAP_Y)) for n in col}
    height = max(y for _x, y in pos.values()) + NODE_H + PAD

    title = text(d.title, d.name)
    now = text(d.state(current).label, current) if current and current in col else ""
    uid = escape(d.name)
    # gettext outside the f-strings, where the message extractor finds it
    heading = _("流程图：%(title)s；当前状态：%(state)s", title=title, state=now or "—")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="dg-{uid}-t">',
        f'<title id="dg-{uid}-t">{escape(heading)}</title>',
        f'<defs><marker id="dg-{uid}-a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>'
        f'<marker id="dg-{uid}-at" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead taken"/></marker></defs>',
    ]
    lefts = rights = 0
    drawn: list[str] = []
    for a, b, label in edges:
        (ax, ay), (bx, by) = pos[a], pos[b]
        kind = route(a, b)
        is_taken = (a, b) in taken
        if kind == "direct" and ranks[a] == ranks[b]:
            sx, ex = (ax + NODE_W, bx) if bx > ax else (ax, bx + NODE_W)
            d_attr = f"M{sx},{ay + NODE_H / 2:.0f} L{ex},{by + NODE_H / 2:.0f}"
        elif kind == "direct":
            d_attr = f"M{ax + NODE_W / 2:.0f},{ay + NODE_H} L{bx + NODE_W / 2:.0f},{by}"
        elif kind == "left":
            bulge = BULGE + BULGE_STEP * lefts
            lefts += 1
            cx = min(ax, bx) - bulge - 14
            d_attr = (f"M{ax},{ay + NODE_H / 2 + 6:.0f} C{cx},{ay + NODE_H / 2 + 6:.0f} "
                      f"{cx},{by + NODE_H / 2 - 6:.0f} {bx},{by + NODE_H / 2 - 6:.0f}")
        else:
            bulge = BULGE + BULGE_STEP * rights
            rights += 1
            cx = max(ax, bx) + NODE_W + bulge + 14
            d_attr = (f"M{ax + NODE_W},{ay + NODE_H / 2 + 6:.0f} C{cx},{ay + NODE_H / 2 + 6:.0f} "
                      f"{cx},{by + NODE_H / 2 - 6:.0f} {bx + NODE_W},{by + NODE_H / 2 - 6:.0f}")
        cls = "edge taken" if is_taken else ("edge back" if kind != "direct" else "edge")
        marker = f"dg-{uid}-at" if is_taken else f"dg-{uid}-a"
        piece = (f'<path class="{cls}" d="{d_attr}" marker-end="url(#{marker})">'
                 f'<title>{escape(label)}</title></path>')
        # the path taken is drawn last, over the others
        drawn.append(piece) if is_taken else parts.append(piece)
    parts.extend(drawn)
    for st in d.states:
        x, y = pos[st.name]
        cls = "node"
        if st.name == current:
            cls += " current"
        elif st.name in visited:
            cls += " visited"
        if st.final:
            cls += " final"
        lines = _wrap(text(st.label, st.name))
        top = y + NODE_H / 2 - (len(lines) - 1) * LINE_H / 2 + 5
        spans = "".join(f'<tspan x="{x + NODE_W / 2:.0f}" y="{top + i * LINE_H:.0f}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines))
        parts.append(
            f'<g class="{cls}" data-state="{escape(st.name)}"><title>{escape(text(st.label, st.name))}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8"/>'
            f'<text text-anchor="middle">{spans}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def path_labels(d: Definition, path: list[str]) -> list[str]:
    """The states passed, in order, without repeats of the same state in a row."""
    out: list[str] = []
    for name in path:
        if not name:
            continue
        try:
            label = text(d.state(name).label, name)
        except KeyError:
            label = name
        if not out or out[-1] != label:
            out.append(label)
    return out
