"""The HubSpot journey in a real browser, as a sales-ops admin does it: make a private app token on the
sandbox HubSpot, paste it (a token of the wrong kind is refused with words), and watch a FreshBooks
client, invoice and payment arrive as an associated contact, company, invoice and payment with the
contact's outstanding balance right after each step. The portal starts without invoice writes: the
connection page says so, the rest syncs meanwhile, and "Check invoice support now" releases the held
invoice once HubSpot takes invoices."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.hubspot import sandbox as hs
from mlconnector.connections.models import Connection
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    login,
    record_freshbooks_payment,
    run_pipeline,
    screenshot,
    seed_sandbox,
)

pytestmark = pytest.mark.django_db(transaction=True)

NANCY = "nancy@northwind.example"  # Northwind Traders' contact in the seeded FreshBooks


def sandbox_row(page: Page, table: str, text: str):
    page.goto("/sandbox/hubspot/")
    return page.locator(f"section:has(h2#t-{table}) tbody tr", has_text=text)


def make_token(page: Page) -> str:
    page.goto("/sandbox/hubspot/")
    page.get_by_role("button", name="Create a private app token").click()
    token = page.get_by_role("textbox", name="Access token").input_value()
    assert token.startswith("pat-")
    return token


def set_invoice_writes(page: Page, mode: str) -> None:
    page.goto("/sandbox/hubspot/")
    page.get_by_label("Invoice writes").select_option(mode)
    page.get_by_role("button", name="Save invoice writes").click()


def fill_token_form(page: Page, token: str, hub: str) -> None:
    page.goto("/connections/hubspot/token/")
    page.get_by_label("Private app access token").fill(token)
    page.get_by_label("Hub ID").fill(hub)
    page.get_by_role("button", name="Check and connect").click()


def test_a_client_invoice_and_payment_arrive_in_hubspot_and_held_invoices_go_once_hubspot_takes_them(
    page: Page, live, admin_a, tenant_a, settings
):
    settings.HUBSPOT_BATCH_WINDOW = 0  # deliveries due at once: run_pipeline() plays the worker right away
    seed_sandbox("hubspot")
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    set_invoice_writes(page, "missing_scope")
    token = make_token(page)

    fill_token_form(page, "xoxb-not-a-hubspot-token", str(hs.DEMO_HUB_ID))
    expect(page.get_by_role("alert")).to_contain_text("not a private app access token")
    expect(page.get_by_label("Private app access token")).to_have_value("")  # never sent back
    assert not Connection.objects.filter(provider="hubspot").exists()

    fill_token_form(page, token, str(hs.DEMO_HUB_ID))
    expect(page.locator(".messages")).to_contain_text("HubSpot connected")
    conn = Connection.objects.get(provider="hubspot")
    assert conn.external_account_id == str(hs.DEMO_HUB_ID)

    # An invoice while HubSpot refuses invoices: the client still becomes a contact and a company with
    # the balance; the invoice waits, and the connection page says why and what to do.
    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()
    expect(sandbox_row(page, "contacts", NANCY)).to_contain_text("6000")
    expect(sandbox_row(page, "companies", "Northwind Traders")).to_contain_text("6000")
    expect(page.locator("section:has(h2#t-invoices) tbody")).to_contain_text("None yet.")

    page.goto(f"/connections/{conn.pk}/")
    warning = page.locator("#hubspot .health")
    expect(warning).to_contain_text("HubSpot does not accept invoices from ml-connector")
    health = page.locator(".health-card")  # not a green "Working": something waits, and why is said
    expect(health).to_have_class(re.compile("tone-warn"))
    expect(health.locator(".health")).to_have_text("Working — last success just now — 1 invoice waiting")
    expect(health).to_contain_text("Waiting because: waiting for HubSpot invoice support")
    screenshot(page, "hubspot-invoices-waiting")

    # HubSpot starts taking invoices; the admin checks now and the held invoice goes through.
    set_invoice_writes(page, "enabled")
    page.goto(f"/connections/{conn.pk}/")
    page.get_by_role("button", name="Check invoice support now").click()
    run_pipeline()
    page.goto(f"/connections/{conn.pk}/")
    expect(page.locator("#hubspot")).to_contain_text("Invoices, with their line items, are written to HubSpot.")
    screenshot(page, "hubspot-connection")
    invoice = sandbox_row(page, "invoices", number)
    expect(invoice).to_have_count(1)
    expect(invoice).to_contain_text("6000")
    expect(invoice).to_contain_text("contacts:")

    # The payment: a commerce payment tied to the invoice, and the contact's outstanding is zero.
    record_freshbooks_payment(page, number, "6000.00")
    run_pipeline()
    payment = sandbox_row(page, "commerce_payments", "6000")
    expect(payment).to_have_count(1)
    expect(payment).to_contain_text("invoices:")
    contact = sandbox_row(page, "contacts", NANCY)
    expect(contact).to_have_count(1)  # one contact, updated each step, never duplicated
    expect(contact.locator("td").nth(5)).to_have_text("0.00")
    screenshot(page, "hubspot-sandbox-records")
