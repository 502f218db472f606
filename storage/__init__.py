"""The declarative base, the engine and the session factories. No module-level engine."""
from .base import Base, utcnow
from .db import Database, is_postgres, make_engine

__all__ = ["Base", "Database", "is_postgres", "make_engine", "utcnow"]
