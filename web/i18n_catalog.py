"""The English catalogue of the page texts: extract, merge, compile, check.

Page texts are written in Chinese as gettext msgids (`_('中文')` in templates,
`gettext`/`lazy_gettext` in Python). Chinese needs no catalogue; English comes
from web/translations/en/LC_MESSAGES/messages.po, compiled to messages.mo
(both kept in the repository, so a deployment needs no build step).

After texts were added or changed anywhere under web/ or a workflow package (workflows/)::

    python -m web.i18n_catalog            # extract from web/ (see web/babel.cfg), merge into
                                          # the .po keeping every existing translation, compile the .mo
    python -m web.i18n_catalog --missing  # list the msgids that still have no English text
    python -m web.i18n_catalog --check    # exit 1 if any text lacks a translation or the .mo is stale

Then fill in the empty `msgstr ""` entries of the .po (keep every `%(name)s`
placeholder), and run the first command once more to compile. Texts no longer
used are dropped from the .po; entries are never fuzzy-matched, so a changed
Chinese text always asks for a fresh translation. tests/web/test_i18n_catalog.py
fails while anything is untranslated or the .mo does not match the .po.
"""
from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from pathlib import Path
from typing import Iterable

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

WEB = Path(__file__).resolve().parent
PACKAGES = WEB.parent / "workflows"  # the workflow packages' pages and templates
ROOTS = (WEB, PACKAGES)
CONFIG = WEB / "babel.cfg"
LOCALE = "en"
PO = WEB / "translations" / LOCALE / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
PROJECT = "UnionFlow"
HEADER = ("# English texts of the UnionFlow pages; each msgid is the Chinese original.\n"
          "# Kept up to date by `python -m web.i18n_catalog` (see web/i18n_catalog.py).")


def extract(roots: tuple[Path, ...] = ROOTS) -> Catalog:
    """Every msgid used under `roots` (the web package and the workflow packages), with where it is used
    (files only, no line numbers)."""
    with CONFIG.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(CONFIG))
    template = Catalog(project=PROJECT, charset="utf-8", fuzzy=False)
    skip = {"translations", "__pycache__", "tests"}
    for root in roots:
        prefix = "" if root == WEB else f"{root.name}/"
        for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda d: Path(d).name not in skip,
        ):
            template.add(message, None, [(prefix + filename, lineno)], auto_comments=comments, context=context)
        for path in sorted(root.rglob("*.py")):
            if not skip & set(path.relative_to(root).parts):
                for lineno, message in fstring_messages(path):
                    template.add(message, None, [(prefix + str(path.relative_to(root)), lineno)])
    return template


_IN_FSTRING = re.compile(r"""(?<![\w.])(?:_|gettext|lazy_gettext|_l)\(\s*((?:"(?:[^"\\]|\\.)*")|(?:'(?:[^'\\]|\\.)*'))""")


def fstring_messages(path: Path) -> list[tuple[int, str]]:
    """gettext calls with a literal inside f-strings, which Babel's extractor skips before Python 3.12."""
    found: list[tuple[int, str]] = []
    with tokenize.open(path) as fh:
        for tok in tokenize.generate_tokens(fh.readline):
            prefix = tok.string[:3].lower()
            if tok.type == tokenize.STRING and "f" in prefix.split('"')[0].split("'")[0]:
                for match in _IN_FSTRING.finditer(tok.string):
                    try:
                        found.append((tok.start[0], ast.literal_eval(match.group(1))))
                    except (SyntaxError, ValueError):
                        continue
    return found


def load(path: Path = PO) -> Catalog:
    if not path.exists():
        return Catalog(locale=LOCALE, project=PROJECT, charset="utf-8", fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale=LOCALE)


def merged(existing: Catalog, template: Catalog) -> Catalog:
    """The template's msgids with the existing translations; obsolete ones dropped, nothing fuzzy."""
    existing.update(template, no_fuzzy_matching=True, update_creation_date=False)
    existing.obsolete.clear()
    existing.fuzzy = False
    existing.header_comment = HEADER
    existing.project, existing.version = PROJECT, "1"
    existing.copyright_holder = existing.last_translator = PROJECT
    existing.msgid_bugs_address, existing.language_team = "", "English"
    return existing


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=0, include_lineno=False, ignore_obsolete=True, sort_by_file=False)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def missing(catalog: Catalog) -> list[str]:
    """Msgids without an English text (or marked fuzzy)."""
    out = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        if m.fuzzy or not all(s and s.strip() for s in strings):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose %(name)s placeholders differ from their msgid's."""
    problems = []
    for m in catalog:
        if m.id and m.string:
            problems.extend(f"{m.id!r}: {e}" for e in m.check(catalog))
    return problems


def translations(catalog: Catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def read_compiled(path: Path = MO) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        compiled = read_mo(fh)
    return translations(compiled)


def update(po: Path = PO, mo: Path = MO) -> Catalog:
    """Extract, merge into the .po and compile the .mo; returns the merged catalogue."""
    catalog = merged(load(po), extract())
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_bytes(po_bytes(catalog))
    mo.write_bytes(mo_bytes(load(po)))
    return catalog


def check(po: Path = PO, mo: Path = MO) -> list[str]:
    """What is wrong with the committed catalogue, as sentences (empty when all is well)."""
    problems: list[str] = []
    current = load(po)
    known = {m.id for m in current if m.id}
    used = [m.id for m in extract() if m.id]
    problems += [f"not in {po.name}: {msgid!r}" for msgid in used if msgid not in known]
    problems += [f"no English text: {msgid!r}" for msgid in missing(current) if msgid in set(used)]
    problems += placeholder_problems(current)
    if read_compiled(mo) != translations(current):
        problems.append(f"{mo.name} does not match {po.name}: run python -m web.i18n_catalog")
    return problems


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.i18n_catalog", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--missing", action="store_true", help="list msgids without an English text")
    group.add_argument("--check", action="store_true", help="exit 1 when the catalogue is incomplete or stale")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.check:
        problems = check()
        for p in problems:
            print(p)
        return 1 if problems else 0
    if args.missing:
        catalog = merged(load(), extract())
        for msgid in missing(catalog):
            print(msgid)
        return 0
    catalog = update()
    todo = missing(catalog)
    print(f"{PO.relative_to(WEB.parent)}: {len(catalog)} texts, {len(todo)} without an English text")
    for msgid in todo:
        print(f"  {msgid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
