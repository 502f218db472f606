"""The dashboard's charts as inline SVG: no script, no style attributes (the CSP forbids both).

Shapes carry classes styled in static/reports.css; geometry goes in SVG
attributes. Every chart has a <title> and the same figures stand in a table
beside it, for screen readers and for printing.
"""
from __future__ import annotations

from html import escape
from typing import Callable, Sequence

from flask_babel import gettext as _

from services.reports import Coverage, Row

TICKS = (0, 25, 50, 75, 100)


class _Frame:
    """Where the label column, the 0–100 % track and the value column sit; the viewBox is drawn at 1:1."""

    def __init__(self, label: int, track: int, value: int):
        self.label, self.track, self.value = label, track, value
        self.width = label + track + value

    def x(self, fraction: float) -> float:
        return self.label + self.track * max(0.0, min(1.0, fraction))


RATES = _Frame(130, 466, 84)  # the label column fits "Membership rate" as well as 入会率
CHILDREN = _Frame(210, 740, 110)


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _axis(f: _Frame, top: float, bottom: float) -> list[str]:
    parts = []
    for t in TICKS:
        x = f.x(t / 100)
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{t}%</text>')
    return parts


def _short(name: str, limit: int = 13) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def rates_chart(c: Coverage) -> str:
    """建会率 and 入会率 of the subtree, each against its target for the year."""
    f = RATES
    rows = [
        ("founding", _("建会率"), c.all.founding_rate, c.targets.founding_rate, c.progress.founding_met),
        ("membership", _("入会率"), c.all.membership_rate, c.targets.membership_rate, c.progress.membership_met),
    ]
    top, row_h, bar_h = 34, 60, 28
    height = top + row_h * len(rows) + 20
    title = escape(_("建会率、入会率与年度目标"))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart rates" viewBox="0 0 {f.width} {height}" '
             f'role="img" aria-labelledby="chart-rates-title"><title id="chart-rates-title">{title}</title>']
    parts += _axis(f, top - 6, top + row_h * len(rows) - 12)
    for i, (key, label, value, target, met) in enumerate(rows):
        y = top + i * row_h
        mid = y + bar_h / 2 + 5
        parts.append(f'<text class="label strong" x="{f.label - 12}" y="{mid:.1f}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect class="track" x="{f.label}" y="{y}" width="{f.track}" height="{bar_h}" rx="3"/>')
        if value is None:
            parts.append(f'<text class="empty" x="{f.label + 10}" y="{mid:.1f}">{escape(_("暂无数据"))}</text>')
        else:
            state = "met" if met else ("below" if met is False else "plain")
            width = max(f.x(value) - f.label, 1.5)
            parts.append(f'<rect class="bar {key} {state}" x="{f.label}" y="{y}" width="{width:.1f}" '
                         f'height="{bar_h}" rx="3"><title>{escape(label)} {pct(value)}</title></rect>')
            parts.append(f'<text class="value" x="{f.label + f.track + 10}" y="{mid:.1f}">{pct(value)}</text>')
        if target is not None:
            x = f.x(float(target))
            parts.append(f'<line class="target {key}" x1="{x:.1f}" y1="{y - 5}" x2="{x:.1f}" y2="{y + bar_h + 5}"/>')
            parts.append(f'<text class="target-label" x="{x:.1f}" y="{y - 9}" text-anchor="middle">'
                         f'{escape(_("目标"))} {pct(float(target), 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def children_chart(rows: Sequence[Row], c: Coverage, name_of: Callable[[Row], str]) -> str:
    """One pair of bars (建会率, 入会率) per child organisation, with the targets as dashed lines."""
    if not rows:
        return ""
    f = CHILDREN
    top, row_h, bar_h = 50, 44, 14
    bottom = top + row_h * len(rows) - 8
    height = bottom + 26
    title = escape(_("各下级单位建会率、入会率"))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart children" viewBox="0 0 {f.width} {height}" '
             f'role="img" aria-labelledby="chart-children-title"><title id="chart-children-title">{title}</title>']
    for i in range(0, len(rows), 2):
        parts.append(f'<rect class="stripe" x="0" y="{top + i * row_h - 7}" width="{f.width}" height="{row_h}"/>')
    parts += _axis(f, top - 10, bottom)
    for i, row in enumerate(rows):
        y = top + i * row_h
        name = name_of(row)
        parts.append(f'<text class="label" x="{f.label - 12}" y="{y + bar_h + 4}" text-anchor="end">'
                     f'<title>{escape(name)}</title>{escape(_short(name))}</text>')
        for j, (key, value) in enumerate((("founding", row.all.founding_rate),
                                          ("membership", row.all.membership_rate))):
            by = y + j * (bar_h + 2)
            if value is None:
                if j == 0:
                    parts.append(f'<text class="empty" x="{f.label + 8}" y="{by + bar_h}">{escape(_("无企业"))}</text>')
                continue
            width = max(f.x(value) - f.label, 1.5)
            parts.append(f'<rect class="bar {key}" x="{f.label}" y="{by}" width="{width:.1f}" height="{bar_h}" '
                         f'rx="2"><title>{escape(name)} {pct(value)}</title></rect>')
            parts.append(f'<text class="value small" x="{f.label + f.track + 10}" y="{by + bar_h - 2}">'
                         f'{pct(value)}</text>')
    for key, target in (("founding", c.targets.founding_rate), ("membership", c.targets.membership_rate)):
        if target is not None:
            x = f.x(float(target))
            parts.append(f'<line class="target {key}" x1="{x:.1f}" y1="{top - 12}" x2="{x:.1f}" y2="{bottom}"/>')
    parts.append(_legend(c, f))
    parts.append("</svg>")
    return "".join(parts)


def text_width(text: str) -> float:
    """About how wide a tick-sized label draws: CJK characters take a full em, Latin ones about half."""
    return sum(13.0 if ord(ch) >= 0x2E80 else 7.0 for ch in text)


def _legend(c: Coverage, f: _Frame) -> str:
    parts = ['<g class="legend">']
    x = f.label
    for key, label in (("founding", _("建会率")), ("membership", _("入会率"))):
        parts.append(f'<rect class="bar {key}" x="{x:.0f}" y="8" width="14" height="14" rx="2"/>')
        parts.append(f'<text class="tick" x="{x + 20:.0f}" y="20">{escape(label)}</text>')
        x += 20 + text_width(label) + 24
    if c.targets.from_year is not None:
        for key, label in (("founding", _("建会率目标")), ("membership", _("入会率目标"))):
            parts.append(f'<line class="target {key}" x1="{x:.0f}" y1="15" x2="{x + 24:.0f}" y2="15"/>')
            parts.append(f'<text class="tick" x="{x + 30:.0f}" y="20">{escape(label)}</text>')
            x += 30 + text_width(label) + 24
    parts.append("</g>")
    return "".join(parts)
