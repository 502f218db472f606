"""The JSON columns' codec: orjson (in C) where it writes and reads what json does, json itself otherwise."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# orjson writes what json.dumps writes for the values stored and answered (str keys, 64-bit integers, finite
# floats); the types it would otherwise write on its own (datetimes, dataclasses, str subclasses) go to
# `default`, as with json.dumps
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_LONG_NUMBER = re.compile(r"[0-9]{19}").search  # may be an integer beyond 64 bits: orjson reads it as a float


def json_bytes(value: Any, default: Callable[[Any], Any]) -> bytes:
    """Compact JSON in UTF-8 (kept as is, not escaped), as json.dumps writes it with `default`: through orjson
    (in C), or json.dumps itself for what orjson refuses (keys that are not strings, integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, default=default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":")).encode("utf-8")


def json_dumps(value: Any) -> str:
    """The JSON columns' text."""
    return json_bytes(value, _json_default).decode("utf-8")


def json_loads(text: Any) -> Any:
    """The value json.loads reads; through orjson unless the text may hold an integer beyond 64 bits."""
    if type(text) is str and _LONG_NUMBER(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN, Infinity, lone surrogates: json.loads reads (or refuses) those
            pass
    return json.loads(text)
