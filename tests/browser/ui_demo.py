"""Shared by the UI browser tests: the demonstration data set in the live server, and a phone."""
from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import login

PASSWORD = "unionflow-demo"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(live_app, live_server) -> Any:
    """The demo district (海城区): organisations, users and cases in many states, walked by the engine."""
    from web.demo import load_demo

    load_demo(live_app)
    return live_app


def sign_in(page, username: str, wait_for: str = "h1") -> None:
    login(page, username, PASSWORD)
    page.wait_for_selector(wait_for)


def phone(page) -> None:
    page.set_viewport_size(PHONE)
