"""Configuration from the environment (DATABASE_URL, SECRET_KEY, UNIONFLOW_PROFILE, ...)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEV_ENVS = ("development", "testing")


def from_env(instance_path: str) -> dict[str, Any]:
    env = os.environ.get("UNIONFLOW_ENV", "production")
    default_db = "sqlite:///" + str(Path(instance_path) / "unionflow.db")
    return {
        "ENV_NAME": env,
        "DATABASE_URL": os.environ.get("DATABASE_URL", default_db),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "UNIONFLOW_PROFILE": os.environ.get("UNIONFLOW_PROFILE", "default"),
        "UNIONFLOW_AUDIT_CHECKPOINT": os.environ.get("UNIONFLOW_AUDIT_CHECKPOINT"),  # newest signed note, for 证明
        # workflow packages of the installation's own beside the built-in ones, by import name
        "UNIONFLOW_WORKFLOW_PACKAGES": [m.strip() for m in os.environ.get("UNIONFLOW_WORKFLOW_PACKAGES", "").split(",")
                                        if m.strip()],
        "MAX_CONTENT_LENGTH": int(os.environ.get("UNIONFLOW_MAX_BODY", 1024 * 1024)),
        # uploaded materials: outside the web root, and their own size limit (the upload views raise the body limit)
        "UPLOAD_DIR": os.environ.get("UNIONFLOW_UPLOAD_DIR", str(Path(instance_path) / "uploads")),
        "UPLOAD_MAX_BYTES": int(os.environ.get("UNIONFLOW_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "UNIONFLOW_HTTPS": os.environ.get("UNIONFLOW_HTTPS", "0") == "1",
        "SESSION_COOKIE_SECURE": os.environ.get("UNIONFLOW_HTTPS", "0") == "1",
        # a signed-in session ends after this long without a request, and this long after signing in
        "SESSION_IDLE_MINUTES": float(os.environ.get("UNIONFLOW_SESSION_IDLE_MINUTES", 30)),
        "SESSION_MAX_HOURS": float(os.environ.get("UNIONFLOW_SESSION_MAX_HOURS", 12)),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # failed logins: free ones per username and per address, then a delay doubling up to the maximum
        "LOGIN_FREE_FAILURES": int(os.environ.get("UNIONFLOW_LOGIN_FREE_FAILURES", 5)),
        "LOGIN_FREE_FAILURES_PER_ADDRESS": int(os.environ.get("UNIONFLOW_LOGIN_FREE_FAILURES_PER_ADDRESS", 20)),
        "LOGIN_MAX_DELAY_SECONDS": int(os.environ.get("UNIONFLOW_LOGIN_MAX_DELAY", 15 * 60)),
        "TRUSTED_PROXIES": int(os.environ.get("UNIONFLOW_TRUSTED_PROXIES", "0")),
        # e-mail of the notifications (services.mail): none is sent without an SMTP server
        "SMTP_URL": os.environ.get("UNIONFLOW_SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("UNIONFLOW_MAIL_FROM", "UnionFlow <unionflow@localhost>"),
        "BASE_URL": os.environ.get("UNIONFLOW_BASE_URL", "").rstrip("/"),  # for links in e-mails
        # the task queue's periodic deadline sweep on PostgreSQL (cron, UTC: 23:00 is 07:00 in Beijing)
        "SWEEP_CRON": os.environ.get("UNIONFLOW_SWEEP_CRON", "0 23 * * *"),
    }
