"""The workflow drawn as an inline SVG, with the current state and the path taken marked.

Layout: states ranked by their distance from the initial state (one row per
rank), edges as straight arrows; no external service, no JavaScript.
"""
from __future__ import annotations

from collections import deque
from html import escape

from definitions import Definition

from .i18n import text

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 34, 24, 34, 12


def _ranks(d: Definition) -> dict[str, int]:
    rank = {d.initial: 0}
    queue = deque([d.initial])
    while queue:
        s = queue.popleft()
        for t in d.transitions_from(s):
            if t.dest not in rank:
                rank[t.dest] = rank[s] + 1
                queue.append(t.dest)
    last = max(rank.values(), default=0)
    for st in d.states:
        rank.setdefault(st.name, last + 1)
    return rank


def workflow_svg(d: Definition, current: str | None, path: list[str] | None = None) -> str:
    ranks = _ranks(d)
    rows: dict[int, list[str]] = {}
    for st in d.states:  # keep the definition's order within a row
        rows.setdefault(ranks[st.name], []).append(st.name)
    width = max(len(r) for r in rows.values()) * (NODE_W + GAP_X) - GAP_X + 2 * PAD
    pos: dict[str, tuple[float, float]] = {}
    for r, names in sorted(rows.items()):
        row_w = len(names) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - row_w) / 2
        for i, name in enumerate(names):
            pos[name] = (x0 + i * (NODE_W + GAP_X), PAD + r * (NODE_H + GAP_Y))
    height = max(y for _, y in pos.values()) + NODE_H + PAD
    visited = set(path or [])
    taken = set(zip(path or [], (path or [])[1:]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(text(d.title, d.name))}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    drawn: set[tuple[str, str]] = set()
    for t in d.transitions:
        if t.source == t.dest or (t.source, t.dest) in drawn:
            continue
        drawn.add((t.source, t.dest))
        (x1, y1), (x2, y2) = pos[t.source], pos[t.dest]
        sx, sy = x1 + NODE_W / 2, y1 + (NODE_H if y2 > y1 else 0 if y2 < y1 else NODE_H / 2)
        ex, ey = x2 + NODE_W / 2, y2 + (0 if y2 > y1 else NODE_H if y2 < y1 else NODE_H / 2)
        if y1 == y2:
            sx, ex = (x1 + NODE_W, x2) if x2 > x1 else (x1, x2 + NODE_W)
        cls = "edge taken" if (t.source, t.dest) in taken else "edge"
        parts.append(f'<line class="{cls}" x1="{sx:.0f}" y1="{sy:.0f}" x2="{ex:.0f}" y2="{ey:.0f}" marker-end="url(#arrow)"/>')
    for st in d.states:
        x, y = pos[st.name]
        cls = "node"
        if st.name == current:
            cls += " current"
        elif st.name in visited:
            cls += " visited"
        if st.final:
            cls += " final"
        label = escape(text(st.label, st.name))
        parts.append(
            f'<g class="{cls}"><title>{escape(st.name)}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + NODE_W / 2:.0f}" y="{y + NODE_H / 2 + 5:.0f}" text-anchor="middle">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
