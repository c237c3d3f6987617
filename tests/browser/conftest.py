"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against a live server.

- `live`: the live server, with every provider URL (OAuth redirects, webhook callbacks, the
  sandbox APIs) pointed at it, and the FreshBooks sandbox seeded. Server-side calls to those URLs
  still go through the in-process transport (tests/settings.py), and django-q2 runs tasks inline,
  so a webhook the sandbox sends is stored at once; `harness.run_pipeline()` then plays the worker.
- `browser` (per module) and `page` (per test, its own cookies, base URL = the live server).

Playwright's own browser download cannot work here: we drive /usr/bin/chromium (apt package
`chromium`, which `make browser` installs). Without it these tests fail when
MLCONNECTOR_REQUIRE_SERVICES=1 (CI) and are skipped, loudly, otherwise.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser import harness

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_executable() -> str | None:
    candidates = [os.environ.get("MLCONNECTOR_CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def require_chromium() -> str:
    """Chromium's path; without it, fail where the services are required (CI), else skip loudly."""
    executable = chromium_executable()
    if executable is None:
        reason = "Chromium not found at /usr/bin/chromium: run `make browser` (apt-get install -y chromium)"
        if os.environ.get("MLCONNECTOR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(f"BROWSER TESTS SKIPPED — {reason}")
    return executable


@pytest.fixture(scope="module")
def browser():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread; Django's ORM would refuse to run
    # beside it. The tests themselves are synchronous, so that guard does not apply to them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live(live_server, settings):
    """The live server's URL, with every provider pointed at it and the FreshBooks sandbox seeded."""
    url = live_server.url
    sandbox = f"{url}/sandbox"
    settings.MLCONNECTOR_PUBLIC_URL = url
    settings.MLCONNECTOR_SANDBOX_URL = sandbox
    settings.FRESHBOOKS_AUTH_URL = f"{sandbox}/freshbooks/auth"
    settings.FRESHBOOKS_API_URL = f"{sandbox}/freshbooks/api"
    settings.FRESHBOOKS_WEB_URL = f"{sandbox}/freshbooks/"  # "Open in FreshBooks" links in messages and items
    settings.SLACK_AUTH_URL = f"{sandbox}/slack/oauth/v2/authorize"
    settings.SLACK_API_URL = f"{sandbox}/slack/api"
    settings.MONDAY_AUTH_URL = f"{sandbox}/monday/auth"
    settings.MONDAY_API_URL = f"{sandbox}/monday/v2"
    settings.HUBSPOT_API_URL = f"{sandbox}/hubspot/api"
    settings.HUBSPOT_RECORD_URL = f"{sandbox}/hubspot/records/{{type}}/{{id}}/"
    harness.seed_sandbox("freshbooks")
    return url


@pytest.fixture
def page(browser, live):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 860}, locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def second_page(browser, live):
    """Another person's tab, for journeys with two users at once (an admin and an invitee)."""
    context = browser.new_context(base_url=live, viewport={"width": 1280, "height": 860}, locale="en-US")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
