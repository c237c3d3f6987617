"""The Salesforce journey in a real browser: the connect form refuses login.salesforce.com and says
why, then connects on the org's My Domain; a FreshBooks invoice becomes an Opportunity on the sandbox
org's page, its payment closes it won, and the Accounts page shows the Account with a link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.salesforce import sandbox as sf
from mlconnector.connections.models import Connection
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    go_home,
    login,
    provider_card,
    record_freshbooks_payment,
    run_pipeline,
    screenshot,
    seed_sandbox,
)

pytestmark = pytest.mark.django_db(transaction=True)


def fill_connect_form(page: Page, my_domain: str) -> None:
    page.get_by_label("My Domain", exact=True).fill(my_domain)
    page.get_by_label("Consumer key", exact=True).fill(sf.CONSUMER_KEY)
    page.get_by_label("Consumer secret", exact=True).fill(sf.CONSUMER_SECRET)
    page.get_by_role("button", name="Check and connect").click()


def test_connect_on_my_domain_then_an_invoice_becomes_an_opportunity_closed_won_on_payment(
    page: Page, live, admin_a, tenant_a
):
    seed_sandbox("salesforce")
    sf.reset()
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    go_home(page)
    provider_card(page, "salesforce").get_by_role("link", name="Connect Salesforce").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect Salesforce")

    fill_connect_form(page, "https://login.salesforce.com")
    expect(page.locator(".error-summary")).to_contain_text("works only on your org's own My Domain")
    expect(page.get_by_label("Consumer secret", exact=True)).to_have_value("")  # never sent back
    screenshot(page, "salesforce-connect-refused")
    assert not Connection.objects.filter(provider="salesforce").exists()

    fill_connect_form(page, sf.DEMO_HOST)
    expect(page.locator(".messages")).to_contain_text("Salesforce connected: ML Connector Demo (API v66.0).")
    expect(page.locator(".salesforce-setup")).to_contain_text(f"https://{sf.DEMO_HOST}")
    expect(page.locator(".salesforce-setup")).to_contain_text("Closed Won")
    expect(page.locator(".salesforce-setup")).to_contain_text("of 100,000 used")
    screenshot(page, "salesforce-connection")

    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()
    page.goto("/sandbox/salesforce/")
    opportunity = page.locator("tr", has_text=f"Invoice {number}")
    expect(opportunity).to_contain_text("Northwind Traders")
    expect(opportunity).to_contain_text("6000.00")
    expect(opportunity).to_contain_text("Negotiation/Review")

    record_freshbooks_payment(page, number, "6000.00")
    run_pipeline()
    page.goto("/sandbox/salesforce/")
    expect(opportunity).to_contain_text("Closed Won")
    expect(opportunity.locator(".badge")).to_have_text("won")
    screenshot(page, "salesforce-sandbox-org")

    conn = Connection.objects.get(provider="salesforce")
    page.goto(f"/salesforce/{conn.pk}/accounts/")
    account = page.get_by_role("link", name="Northwind Traders", exact=True)
    record = f"/sandbox/salesforce/{sf.DEMO_HOST}/lightning/r/Account/{sf.accounts()[0]['Id']}/view"
    expect(account).to_have_attribute("href", re.compile(re.escape(record) + "$"))
    account.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Northwind Traders")
