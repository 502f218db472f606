"""Reading the OpenAPI document in tests: the app's /api/v1 routes, $ref resolution, response checking and
hypothesis strategies built from the document's schemas."""
from __future__ import annotations

import io
import json
import re
from typing import Any, Iterable

from hypothesis import strategies as st
from jsonschema import Draft202012Validator

PREFIX = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


def app_routes(app) -> set[tuple[str, str]]:
    """(path as the document writes it, method) of every route of the app under /api/v1."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        out.update((path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"})
    return out


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item if method in METHODS}


def operations(doc: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in sorted(doc["paths"].items()):
        for method, op in sorted(item.items()):
            if method in METHODS:
                yield path, method, op


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """`node` with every local $ref replaced by its target (the document has no recursive shapes)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(doc, target)
        return {k: resolve(doc, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(doc, v) for v in node]
    return node


def response_problem(doc: dict[str, Any], op: dict[str, Any], resp) -> str | None:
    """Why a response is not one the operation documents; None when it is."""
    documented_ = resolve(doc, op["responses"]).get(str(resp.status_code))
    if documented_ is None:
        return f"status {resp.status_code} is not documented ({sorted(op['responses'])})"
    content = documented_.get("content") or {}
    if not content:
        return None
    if resp.mimetype not in content:
        return f"content type {resp.mimetype} is not one of {sorted(content)}"
    schema = content[resp.mimetype].get("schema")
    if resp.mimetype != "application/json" or schema is None:
        return None
    try:
        body = json.loads(resp.get_data(as_text=True))
    except ValueError:
        return "the body is not JSON"
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        return f"body does not match the schema: {errors[0].message} at {list(errors[0].path)}"
    return None


# -- strategies --------------------------------------------------------------------

# the document asks for valid Unicode text without U+0000 (test_api_limits goes beyond)
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def text(min_size: int = 0, max_size: int = 24) -> st.SearchStrategy:
    return st.text(alphabet=CHARS, min_size=min_size, max_size=max_size)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         text(max_size=20))
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(text(max_size=8), inner, max_size=3)),
                        max_leaves=8)


def from_schema(schema: dict[str, Any], hints: dict[str, st.SearchStrategy], name: str = "") -> st.SearchStrategy:
    """Values of the schema; a property or parameter named in `hints` also takes the hinted values."""
    if name in hints:
        return st.one_of(hints[name], _plain(schema, hints))
    return _plain(schema, hints)


def _plain(schema: dict[str, Any], hints: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*[_plain({**schema, "type": k}, hints) for k in kind])
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: len(s) <= schema.get("maxLength", 64))
        return text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 24), 24))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), hints), max_size=4)
    if kind == "object":
        props = schema.get("properties")
        if not props:
            return st.dictionaries(text(max_size=8), ANY_JSON, max_size=3)
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v, hints, k) for k, v in props.items() if k in required},
            optional={k: from_schema(v, hints, k) for k, v in props.items() if k not in required})
    return ANY_JSON


def json_body(schema: dict[str, Any], hints: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Mostly documented bodies, sometimes any JSON, sometimes bytes that are not JSON at all."""
    return st.one_of(
        from_schema(schema, hints).map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
        ANY_JSON.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=40),
    )


FILE_STARTS = (b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"")


def multipart_body(hints: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A form with `material` and `file`, either of which may be missing or odd."""
    content = st.builds(lambda start, rest: start + rest, st.sampled_from(FILE_STARTS), st.binary(max_size=64))
    filename = st.sampled_from(["证明.pdf", "scan.png", "photo.jpg", "a.gif", "", "../../etc/passwd", "x.pdf.exe"])
    upload = st.builds(lambda c, n: (io.BytesIO(c), n), content, filename)
    return st.fixed_dictionaries({}, optional={"material": st.one_of(hints.get("material", text()), text(max_size=12)),
                                               "file": upload})
