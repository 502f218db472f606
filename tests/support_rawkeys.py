"""Finding raw keys in what a page shows a person: a state, trigger, field, reason code, material kind or
organisation code where its label or name belongs.

`RawKeys.of(catalog, orgs=..., allowed=...)` gathers every key the workflows know (each definition's
states, triggers, fields and their dotted paths, enumerated values, the ids of its lists such as the
materials and checklist items, the reasons' codes) and the organisations' codes and credit codes;
`keys.find(html, lang)` returns what of them the page's visible text shows (the text of the elements:
<script>, <style>, <template>, <datalist>, what was typed into a <textarea>, and every attribute left out).

Rules, in both languages:

* a dotted field path (`applicant.id_number`, `household[1].id_number`) of known fields is raw;
* any snake_case identifier (`approve_review`, `category_reason`) is raw;
* an organisation's code (FED-HC, TOWN-SQ) or a unit's credit code is raw unless it is labelled as a code:
  in a table column or a <dt>/<dd> pair, or right after a label such as 组织代码 / 代码 / credit code;
* a one-word key (`assisted`, `diagnosis`, `founding`) is raw on a Chinese page; on an English page
  only where it is not an English word of the interface (`approved` reads as English there).

The same function serves the Flask test client (`resp.get_data(as_text=True)`) and a browser
(`page.content()`); `RawKeys.for_app(app)` gathers the keys of a running app (its database's organisations).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

PO = Path(__file__).resolve().parents[1] / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# labels that say that what follows (or the column, or the <dd>) is a code
CODE_LABEL = re.compile(r"代码|编码|信用代码|身份证|用户名|\bcodes?\b|\bID\b|username|Username|Code", re.I)
# how far before a code its label may stand in the text ("组织代码：FED-HC", "（代码 FED-HC）")
LABEL_REACH = 12

SNAKE = re.compile(r"(?<![A-Za-z0-9_.\-/])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9_\-/]|\.[A-Za-z])")
DOTTED = re.compile(r"(?<![A-Za-z0-9_./\-])[a-z][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z][a-z0-9_]*(?:\[\d+\])?)+"
                    r"(?![A-Za-z0-9_/\-])")
WORD = re.compile(r"(?<![A-Za-z0-9_\-./@])[a-z][a-z0-9]+(?![A-Za-z0-9_\-@]|\.[A-Za-z])")
FILE_ENDINGS = frozenset({"pdf", "csv", "xlsx", "xls", "json", "jsonl", "png", "jpg", "jpeg", "txt", "zip", "html",
                          "docx", "doc", "db", "py", "yaml", "cn", "com", "org"})
# not shown, or what the person typed (a textarea's text is its value, as an input's is an attribute)
HIDDEN = frozenset({"script", "style", "template", "datalist", "noscript", "textarea"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                  "wbr"})
BLOCKS = frozenset({"p", "div", "li", "td", "th", "dt", "dd", "tr", "table", "section", "h1", "h2", "h3", "h4",
                    "label", "option", "button", "form", "ul", "ol", "nav", "header", "footer", "main", "details",
                    "summary", "fieldset", "legend", "caption", "br", "select", "article", "aside", "figcaption"})


@dataclass(frozen=True)
class Finding:
    key: str
    kind: str  # "path", "snake", "org", "word"
    context: str  # the text around it

    def __str__(self) -> str:
        return f"{self.kind} {self.key!r} in …{self.context}…"


@dataclass
class _Piece:
    text: str
    label: str  # the column's header, the <dt>, or a td's data-label: what the text is shown as


class _Visible(HTMLParser):
    """The page's visible text in pieces, each with the label it is shown under (a column, a <dt>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[_Piece] = []
        self.stack: list[tuple[str, str]] = []  # (tag, label it gives its text)
        self.hidden = 0
        self.headers: list[list[str]] = []  # per open table: its column headers
        self.cells: list[int] = []  # per open table: the column of the current cell
        self.in_th: list[str] | None = None
        self.last_dt = ""
        self.in_dt: list[str] | None = None

    def _label(self) -> str:
        return next((label for _tag, label in reversed(self.stack) if label), "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in VOID:
            if tag == "br":
                self.pieces.append(_Piece(" ", ""))
            return
        if tag in HIDDEN or "hidden" in a:
            self.hidden += 1
            self.stack.append((tag, "hidden"))
            return
        label = ""
        if tag == "table":
            self.headers.append([])
            self.cells.append(-1)
        elif tag == "tr" and self.cells:
            self.cells[-1] = -1
        elif tag in ("td", "th") and self.cells:
            self.cells[-1] += 1
            column = self.cells[-1]
            if tag == "th":
                self.in_th = []
            headers = self.headers[-1]
            label = a.get("data-label") or (headers[column] if tag == "td" and column < len(headers) else "")
            self.cells[-1] += max(int(a.get("colspan") or 1), 1) - 1
        elif tag == "dt":
            self.in_dt = []
        elif tag == "dd":
            label = self.last_dt
        label = a.get("data-label") or label  # a cell that says what it holds (the phone layout's labels)
        if tag in BLOCKS:
            self.pieces.append(_Piece(" ", ""))
        self.stack.append((tag, label))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        # close up to the matching tag (HTML allows some end tags to be left out)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for closed, label in self.stack[i:]:
                    self._closed(closed, label)
                del self.stack[i:]
                break
        if tag in BLOCKS:
            self.pieces.append(_Piece(" ", ""))

    def _closed(self, tag: str, label: str) -> None:
        if label == "hidden":
            self.hidden -= 1
        elif tag == "table" and self.headers:
            self.headers.pop()
            self.cells.pop()
        elif tag == "th" and self.in_th is not None and self.headers:
            headers = self.headers[-1]
            column = self.cells[-1]
            while len(headers) <= column:
                headers.append("")
            headers[column] = " ".join(self.in_th).strip()
            self.in_th = None
        elif tag == "dt" and self.in_dt is not None:
            self.last_dt = " ".join(self.in_dt).strip()
            self.in_dt = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.in_th is not None:
            self.in_th.append(data)
        if self.in_dt is not None:
            self.in_dt.append(data)
        self.pieces.append(_Piece(data, self._label()))


def visible_pieces(html: str) -> list[_Piece]:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return parser.pieces


def visible_text(html: str) -> str:
    """The page's visible text, whitespace collapsed."""
    return re.sub(r"\s+", " ", "".join(p.text for p in visible_pieces(html))).strip()


@dataclass
class RawKeys:
    words: set[str] = field(default_factory=set)  # every key the workflows and the system know
    fields: set[str] = field(default_factory=set)  # the names of data fields (parts of a dotted path)
    codes: set[str] = field(default_factory=set)  # organisations' codes and credit codes
    english: set[str] = field(default_factory=set)  # words of the English interface: not raw on an English page
    allowed: set[str] = field(default_factory=set)  # shown on purpose (usernames, say)

    @classmethod
    def of(cls, catalog: Any, orgs: Iterable[tuple[str, str | None]] = (), allowed: Iterable[str] = (),
           english: Iterable[str] = ()) -> RawKeys:
        """The keys of every definition (current and archived) in `catalog`; `orgs` are (code, credit code)."""
        keys = cls(allowed=set(allowed))
        for d in catalog.versions.values():
            keys.words.add(d.name)
            keys.words |= {s.name for s in d.states}
            keys.words |= {t.trigger for t in d.transitions}
            keys.words |= {p.name for p in d.parties}

            def add(spec: Any) -> None:
                keys.fields.add(spec.name)
                keys.words |= set(spec.values)
                for f in spec.fields:
                    add(f)
                if spec.items is not None:
                    add(spec.items)

            for t in d.transitions:
                for spec in t.data:
                    add(spec)
            for spec in d.creation.data:
                add(spec)
            for name, section in d.extra.items():
                if isinstance(section, (list, tuple)):
                    for item in section:
                        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                            keys.words.add(item["id"])
                elif isinstance(section, Mapping) and name.endswith("labels"):
                    for key, inner in section.items():
                        keys.words.add(str(key))
                        if isinstance(inner, Mapping):
                            keys.words |= {str(k) for k in inner if k not in ("zh", "en", "label")}
        keys.words |= set(catalog.reasons)
        keys.words |= set(catalog.profiles)
        keys.words |= keys.fields
        keys.words = {w for w in keys.words if re.fullmatch(r"[a-z][a-z0-9_]+", w)}
        for code, credit in orgs:
            keys.codes.add(code)
            if credit:
                keys.codes.add(credit)
        keys.english = {w.lower() for w in english}
        return keys

    @classmethod
    def for_app(cls, app: Any) -> RawKeys:
        """The keys of a running app: its catalogue's, its organisations' codes; its users' names are allowed
        (they are no keys), the English interface's words are not raw on an English page."""
        from sqlalchemy import select

        from workflow import Organisation, User

        catalog = app.extensions["unionflow.engine"].catalog
        with app.extensions["unionflow.db"].read() as session:
            orgs = [(code, credit) for code, credit in session.execute(
                select(Organisation.code, Organisation.credit_code))]
            usernames = set(session.scalars(select(User.username)))
        return cls.of(catalog, orgs=orgs, allowed=usernames, english=english_words(PO, catalog))

    def find(self, html: str, lang: str = "zh") -> list[Finding]:
        pieces = visible_pieces(html)
        flat = ""
        found: list[Finding] = []
        for piece in pieces:
            start = len(flat)
            flat += piece.text
            for f in self._in_piece(piece, flat, start, lang):
                found.append(f)
        return found

    def _in_piece(self, piece: _Piece, flat: str, start: int, lang: str) -> Iterable[Finding]:
        text = piece.text

        def around(i: int, j: int) -> str:
            return re.sub(r"\s+", " ", flat[max(0, start + i - 30): start + j + 30]).strip()

        spans: list[tuple[int, int]] = []
        for m in DOTTED.finditer(text):
            parts = [re.sub(r"\[\d+\]$", "", p) for p in m.group().split(".")]
            if parts[-1] in FILE_ENDINGS or not any(p in self.fields for p in parts):
                continue
            spans.append(m.span())
            yield Finding(m.group(), "path", around(*m.span()))
        for m in SNAKE.finditer(text):
            if m.group() in self.allowed or any(a <= m.start() < b for a, b in spans):
                continue
            spans.append(m.span())
            yield Finding(m.group(), "snake", around(*m.span()))
        if self.codes:
            for m in re.finditer(r"[A-Z0-9][A-Z0-9\-]{2,}", text):
                code = m.group()
                if code not in self.codes or code in self.allowed:
                    continue
                before = flat[max(0, start + m.start() - LABEL_REACH): start + m.start()]
                if CODE_LABEL.search(piece.label) or CODE_LABEL.search(before):
                    continue
                yield Finding(code, "org", around(*m.span()))
        for m in WORD.finditer(text):
            word = m.group()
            if word not in self.words or word in self.allowed or any(a <= m.start() < b for a, b in spans):
                continue
            if lang == "en" and word in self.english:
                continue
            yield Finding(word, "word", around(*m.span()))


def english_words(po_path: Any, catalog: Any) -> set[str]:
    """The lower-case words of the English interface: its catalogue's translations and the definitions' labels."""
    words: set[str] = set()
    with open(po_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("msgstr") or line.startswith('"'):
                words |= set(re.findall(r"[a-z]+", line.lower()))

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            if isinstance(value.get("en"), str):
                words.update(re.findall(r"[a-z]+", value["en"].lower()))
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif hasattr(value, "en") and isinstance(value.en, str):
            words.update(re.findall(r"[a-z]+", value.en.lower()))

    for d in catalog.versions.values():
        walk(d.title)
        for s in d.states:
            walk(s.label)
        for t in d.transitions:
            walk(t.label)
        walk(d.extra)
    for label in catalog.reasons.values():
        walk(label)
    return words
