"""The per-application objects: the database, the engine, Babel, Login, CSRF and the limiter."""
from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from storage import Database
from workflow import Engine

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["unionflow.db"]


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["unionflow.engine"]


MAX_ID = 2**31 - 1  # the largest id the 32-bit key columns hold: a larger one in a URL names nothing
