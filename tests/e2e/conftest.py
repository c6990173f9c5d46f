"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live_server."""

import os

import pytest
from django.conf import settings
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.browser_skips import CHROMIUM, chromium_skip_reason

# Every expect() waits for its condition up to this bound (Playwright's default is 5 s): a busy machine may
# take longer to serve a page, and a passing check returns as soon as it holds, so no test sets its own.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--headless",
            "--no-sandbox",  # we run as root, where Chromium's sandbox cannot start
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser(launch_browser):
    """Skip locally when Chromium cannot start; fail in CI (CUSTODIAN_REQUIRE_BROWSER, from CI=true)."""
    try:
        launched = launch_browser()
    except Exception as exc:
        message = chromium_skip_reason(exc)
        if settings.CUSTODIAN_REQUIRE_BROWSER:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield launched
    launched.close()


@pytest.fixture
def sign_in(page, live_server):
    """sign_in(user) fills the real sign-in form and waits for the dashboard home."""
    from tests.factories import DEFAULT_PASSWORD

    def sign_in_as(user) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return sign_in_as
