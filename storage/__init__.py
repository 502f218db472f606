"""The declarative base, the engine and the session factories, the JSON columns' codec. No module-level engine."""
from .base import Base, utcnow
from .codec import json_bytes, json_dumps, json_loads
from .engine import normalise_url
from .units import Database, EarlyCommitError

__all__ = ["Base", "Database", "EarlyCommitError", "json_bytes", "json_dumps", "json_loads", "normalise_url",
           "utcnow"]
