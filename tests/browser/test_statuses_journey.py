"""What the screen says is true, in a real browser: an event whose delivery failed is not a green
"Processed", an expense no rule addresses reads "Nothing to send", a reconnect says how many waiting
posts it sent, and the error pages are the product's own with a way back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.sandbox import faults
from integrations.slack.sandbox import state as slack_sandbox
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    login,
    open_event,
    reconnect,
    run_pipeline,
    screenshot,
    seed_sandbox,
)
from tests.slack.helpers import demo_rules

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books_and_slack(live, settings, page: Page, tenant_a, admin_a):
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0.02
    settings.SLACK_CHANNEL_INTERVAL = 0.05
    settings.SLACK_PACING_MARGIN = 0.0
    seed_sandbox("slack")
    demo_rules(tenant_a)  # invoices over 5,000 -> #exec-alerts, all -> #accounting, expenses except Internal
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    connect_via_oauth(page, "slack", "Slack")
    return page


def record_expense(page: Page, vendor: str, category: str) -> None:
    page.goto("/sandbox/freshbooks/")
    form = page.locator("form", has=page.get_by_role("button", name="Record an expense"))
    form.get_by_label("Vendor").fill(vendor)
    form.get_by_label("Amount").fill("45.00")
    form.get_by_label("Category").select_option(label=category)
    form.get_by_role("button", name="Record an expense").click()
    expect(page.locator(".messages")).to_contain_text(f"at {vendor}")


def audit_row(page: Page, text: str):
    page.goto("/audit/")
    return page.locator("table.events tbody tr").filter(has_text=text)


def test_the_badges_say_what_happened_to_each_delivery(books_and_slack: Page):
    page = books_and_slack
    # A permanent Slack refusal (HTTP 200 with ok:false) fails the invoice's delivery.
    body = {"ok": False, "error": "invalid_blocks"}
    faults.add("slack", status=200, match="chat.postMessage", body=body, times=10)
    number = create_freshbooks_invoice(page, amount="120.00")
    run_pipeline()
    row = audit_row(page, f"#{number}")
    expect(row.locator(".badge").first).to_have_text("Failed")
    expect(row).not_to_contain_text("Processed")
    page.get_by_label("Event status").select_option(label="Failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.events tbody tr").filter(has_text=f"#{number}")).to_have_count(1)
    open_event(page, number)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Failed")
    expect(page.locator("ol.timeline")).to_contain_text("HTTP 200, with an error inside the answer")
    screenshot(page, "event-failed-delivery")
    faults.clear("slack")

    # An expense in a category no rule sends anywhere: nothing to send, said as such.
    record_expense(page, "Office party", "Internal")
    run_pipeline()
    row = audit_row(page, "Office party")
    expect(row.locator(".badge").first).to_have_text("Nothing to send")
    expect(row).to_contain_text("Slack: nothing to send")


def test_a_reconnect_says_how_many_waiting_posts_it_sent(books_and_slack: Page):
    page = books_and_slack
    slack_sandbox.revoke_tokens()
    first = create_freshbooks_invoice(page, amount="130.00")
    second = create_freshbooks_invoice(page, amount="140.00")
    run_pipeline()
    for number in (first, second):
        expect(audit_row(page, f"#{number}").locator(".badge").first).to_have_text(
            "Waiting for Slack to be reconnected"
        )
    message = reconnect(page, "slack", "Slack")
    assert "Slack reconnected: " in message and "2 posts that waited are being sent now." in message, message
    assert "Add routing rules" not in message
    run_pipeline()
    for number in (first, second):
        expect(audit_row(page, f"#{number}").locator(".badge").first).to_have_text("Delivered")


def test_the_error_pages_are_the_products_own(live, page: Page, admin_a):
    login(page, "alice")
    page.goto("/no/such/page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
    page.get_by_role("link", name="Back to your connections").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connections")
    page.goto("/team/invite/")
    expect(page.get_by_role("heading", level=1)).to_have_text("That is done with a button, not a link")
    screenshot(page, "error-405")
