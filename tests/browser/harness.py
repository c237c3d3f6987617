"""What a person does in the browser, as functions the journeys are written with.

Adding a journey (see test_slack_journey.py and test_monday_journey.py for two full ones):

1. Seed the sandboxes it needs in the test: `seed_sandbox("freshbooks", "slack")` (the `live`
   fixture already seeds FreshBooks).
2. Teach the harness the provider's consent page: write e.g. `slack_consent(page, decision)` that
   presses Allow/Cancel on /sandbox/slack/'s authorize page and register it in `CONSENT`; if a
   successful connect lands on the provider's next step rather than home, put that page's heading
   in `LANDING`. Then `connect_via_oauth(page, "slack", "Slack")` and `reconnect(page, "slack",
   "Slack")` work unchanged, including the "lands back with a message" check.
3. Drive the provider's own pages with plain Playwright (`page.get_by_label(...)`,
   `page.get_by_role("button", name=...)`), e.g. the routing-rule editor, then create the source
   record with `create_freshbooks_invoice(page, amount="6000.00")` and call `run_pipeline()` (the
   worker) before looking at the sandbox Slack page for the message.
4. Break it with `revoke_token("slack")`, create another invoice, `run_pipeline()`, and check
   `health_text(page, "slack")` says e.g. "Token revoked or expired … — 1 invoice waiting";
   `reconnect(...)`, `run_pipeline()`, and the message arrives once.
5. `screenshot(page, "slack-rules")` for any page the README should show.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
# `make screenshots` (MLCONNECTOR_SCREENSHOTS=1) refreshes the README's; other runs still take them,
# into a temp dir, so a test run does not leave changed images in the working tree.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("MLCONNECTOR_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "mlconnector-screenshots"
)
PASSWORD = "correct horse battery"  # tests/factories.py UserFactory's password


# --- set-up and the worker ----------------------------------------------------------------------


def seed_sandbox(*providers: str) -> None:
    """Seed these providers' fakes (demo accounts, registered OAuth apps with the live redirect URIs)."""
    for provider in providers:
        import_module(f"integrations.{provider}.sandbox").seed_demo()


def run_pipeline(rounds: int = 10) -> None:
    """Play the worker: dispatch due events and deliveries (run inline) until nothing is left to do."""
    from mlconnector.pipeline import dispatcher

    for _ in range(rounds):
        counts = dispatcher.tick()
        if not any(counts.values()):
            return


def run_job_now(provider: str, job: str) -> None:
    """Make a connection's periodic job due now, as if its interval had passed (then `run_pipeline()`)."""
    from django.utils import timezone

    from mlconnector.pipeline.models import ConnectionJob

    due = ConnectionJob.objects.filter(connection__provider=provider, name=job)
    assert due.update(next_attempt_at=timezone.now()), f"no {job!r} job for {provider}"


def revoke_token(provider: str, match: str = "") -> None:
    """Make the provider's sandbox revoke the account's tokens at its next API call matching `match`
    (e.g. revoke_token("slack", "chat.postMessage")); the connection then goes to "needs reconnect"."""
    from integrations.sandbox import faults
    from integrations.sandbox.models import SandboxFault

    faults.add(provider, kind=SandboxFault.Kind.REVOKE, match=match)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save the page as <name>.png: in docs/screenshots/ (the README's) under `make screenshots`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path


# --- signing in ---------------------------------------------------------------------------------


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connections")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


# --- the home page and connecting ---------------------------------------------------------------


def go_home(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connections")


def provider_card(page: Page, provider: str) -> Locator:
    return page.locator(f'section[data-provider="{provider}"]')


def expect_state(page: Page, provider: str, state: str) -> None:
    """The badge next to the provider's name on the home page: not connected / connected / needs
    reconnect / paused / setting up."""
    expect(provider_card(page, provider).locator("h2 .badge")).to_have_text(state)


def health_text(page: Page, provider: str) -> str:
    """The provider's one-line health on the home page, e.g. "Token revoked or expired 3 minutes ago —
    1 invoice waiting"."""
    go_home(page)
    return provider_card(page, provider).locator(".health").first.inner_text()


def freshbooks_consent(page: Page, decision: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign in to FreshBooks")
    page.get_by_role("button", name="Allow" if decision == "allow" else "Deny").click()


def slack_consent(page: Page, decision: str) -> None:
    """slack.com/oauth/v2/authorize's stand-in: "… is requesting permission …", Allow or Cancel."""
    expect(page.get_by_role("heading", level=1)).to_contain_text("is requesting permission to access")
    page.get_by_role("button", name="Allow" if decision == "allow" else "Cancel").click()


def monday_consent(page: Page, decision: str) -> None:
    """auth.monday.com/oauth2/authorize's stand-in: "Install … on monday.com", Authorize or Cancel."""
    expect(page.get_by_role("heading", level=1)).to_contain_text("on monday.com")
    page.get_by_role("button", name="Authorize" if decision == "allow" else "Cancel").click()


# provider -> what a person does on its sandbox consent page ("allow" or "deny").
CONSENT: dict[str, Callable[[Page, str], None]] = {
    "freshbooks": freshbooks_consent,
    "slack": slack_consent,
    "monday": monday_consent,
}
# provider -> the heading of the page a successful connect lands on (its next step), if not home.
LANDING: dict[str, str] = {"slack": "Slack routing rules", "monday": "Monday.com boards"}


def _landed(page: Page, provider: str, decision: str) -> str:
    """Back from the sandbox on the provider's next-step page (home when declined); the message."""
    expect(page).not_to_have_url(re.compile(r"/sandbox/"))
    heading = LANDING.get(provider, "Connections") if decision == "allow" else "Connections"
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    return page.locator(".messages").inner_text()


def connect_via_oauth(page: Page, provider: str, label: str, decision: str = "allow") -> str:
    """Home → Connect <label> → the sandbox consent page → decision → back; returns the message."""
    go_home(page)
    provider_card(page, provider).get_by_role("link", name=f"Connect {label}").click()
    CONSENT[provider](page, decision)
    return _landed(page, provider, decision)


def reconnect(page: Page, provider: str, label: str) -> str:
    """Press the Reconnect button the health summary offers, and allow on the consent page."""
    go_home(page)
    provider_card(page, provider).get_by_role("link", name=f"Reconnect {label}").click()
    CONSENT[provider](page, "allow")
    return _landed(page, provider, "allow")


# --- the sandbox FreshBooks console ---------------------------------------------------------------


def create_freshbooks_invoice(page: Page, amount: str = "6000.00", client: str = "Northwind Traders") -> str:
    """Create an invoice on the sandbox FreshBooks console like a person would; returns its number.

    The sandbox signs and sends the webhook at once (django-q2 runs inline in tests), so the event
    is stored when this returns; `run_pipeline()` then enriches and delivers it.
    """
    page.goto("/sandbox/freshbooks/")
    form = page.locator("form", has=page.get_by_role("button", name="Create an invoice"))
    form.get_by_label("Client").select_option(label=client)
    form.get_by_label("Amount").fill(amount)
    form.get_by_role("button", name="Create an invoice").click()
    message = page.locator(".messages").inner_text()
    found = re.search(r"Invoice (\S+) for", message)
    assert found, message
    return found[1]


def record_freshbooks_payment(page: Page, invoice: str, amount: str) -> None:
    """Record a payment against an invoice on the sandbox FreshBooks console (its webhooks go at once)."""
    page.goto("/sandbox/freshbooks/")
    form = page.locator("form", has=page.get_by_role("button", name="Record a payment"))
    choice = form.get_by_label("Invoice").locator("option", has_text=f"{invoice} ·").get_attribute("value")
    form.get_by_label("Invoice").select_option(choice)
    form.get_by_label("Amount").fill(amount)
    form.get_by_role("button", name="Record a payment").click()
    expect(page.locator(".messages")).to_contain_text("Payment of")


def freshbooks_invoice(number: str) -> dict:
    """The sandbox FreshBooks' stored invoice with this number (what the API would return)."""
    from integrations.sandbox.models import SandboxObject

    for row in SandboxObject.objects.filter(provider="freshbooks", kind="invoice"):
        if row.data.get("invoice_number") == number:
            return row.data
    raise AssertionError(f"no sandbox FreshBooks invoice {number}")


# --- the audit log --------------------------------------------------------------------------------


def open_event(page: Page, search: str) -> None:
    """Search the audit log (invoice number, client or object id) and open the first event found."""
    page.goto("/audit/")
    page.get_by_label("Search").fill(search)
    page.get_by_role("button", name="Filter").click()
    page.locator("table.events tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
