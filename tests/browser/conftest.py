"""Browser tests: a live server on 127.0.0.1 and Debian's chromium driven by Playwright.

They run on SQLite only (the server and the database live in this process);
screenshots are kept under test-artifacts/screenshots/. When chromium or
Playwright is missing the tests are skipped with the reason, never faked.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("UNIONFLOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (install Debian's chromium package)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_app(app_config, backend):
    if backend["name"] != "sqlite":
        pytest.skip("browser tests run against the embedded SQLite database")
    from web import create_app

    config = dict(app_config)
    config.update({"WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True})
    return create_app(config)


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    live_app.extensions["unionflow.db"].dispose()


@pytest.fixture
def new_page(browser, live_server):
    """A fresh browser context (own cookies) per user; `new_page(lang)` opens a page at the server."""
    contexts = []

    def make(locale: str = "zh-CN"):
        context = browser.new_context(locale=locale, base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def shot(request):
    """Save a screenshot named after the test: shot(page, "step")."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username: str, password: str = "correct-horse-1") -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


__all__ = ["login", "shutil"]
