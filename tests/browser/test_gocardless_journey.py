"""The GoCardless journey in a real browser, as the demo goes: connect with a token made on the
sandbox GoCardless dashboard, paste the webhook URL there and its secret back, send an invoice from
the FreshBooks console, press the scenario buttons (submitted, confirmed, payout), and read the
invoice paid in FreshBooks, the fees as an expense and the month balanced."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.gocardless.models import GcPayment
from mlconnector.connections.models import Connection
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    freshbooks_invoice,
    go_home,
    login,
    provider_card,
    run_pipeline,
    screenshot,
    seed_sandbox,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gocardless_live(live, settings):
    settings.GOCARDLESS_API_URLS = {env: f"{live}/sandbox/gocardless/{env}" for env in ("live", "sandbox")}
    seed_sandbox("gocardless")
    return live


def press(page: Page, payment: str, to: str) -> None:
    page.goto("/sandbox/gocardless/")
    row = page.locator("tr", has_text=payment)
    row.get_by_role("button", name=f"→ {to}").click()
    expect(page.locator(".messages")).to_contain_text(f"is now {to}")


def test_an_invoice_is_collected_posted_paid_out_and_the_month_balances(page: Page, gocardless_live, admin_a):
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")

    page.goto("/sandbox/gocardless/")
    page.get_by_role("button", name="Create an access token (sandbox)").click()
    token = re.search(r"\(shown once\): (\S+)", page.locator(".messages").inner_text())[1]

    go_home(page)
    provider_card(page, "gocardless").get_by_role("link", name="Connect GoCardless").click()
    page.get_by_label("Sandbox (test money)").check()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Check and connect").click()
    expect(page.locator(".messages")).to_contain_text("GoCardless connected: Demo Books Ltd (sandbox)")
    hook = page.get_by_label("Webhook URL").input_value()
    settings_url = page.url

    page.goto("/sandbox/gocardless/")
    page.get_by_label("Webhook endpoint URL").fill(hook)
    page.get_by_role("button", name="Save endpoint (makes a new secret)").click()
    secret = re.search(r"\(shown once\): (\S+)", page.locator(".messages").inner_text())[1]
    page.goto(settings_url)
    page.get_by_label("Webhook endpoint secret").fill(secret)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Secret saved")).to_be_visible()

    number = create_freshbooks_invoice(page, amount="120.00")
    run_pipeline()
    payment = GcPayment.objects.get()
    assert payment.amount == 120 and payment.invoice_number == number

    press(page, payment.payment_id, "submitted")
    press(page, payment.payment_id, "confirmed")
    run_pipeline()
    assert freshbooks_invoice(number)["outstanding"]["amount"] == "0.00"

    page.goto("/sandbox/gocardless/")
    page.get_by_role("button", name="Create a payout").click()
    expect(page.locator(".messages")).to_contain_text("paid")
    run_pipeline()

    conn = Connection.objects.get(provider="gocardless")
    payment.refresh_from_db()
    page.goto(f"/gocardless/{conn.pk}/payments/")
    expect(page.locator("tr", has_text=payment.payment_id)).to_contain_text("Paid out")
    screenshot(page, "gocardless-payments")
    page.goto(f"/gocardless/{conn.pk}/reconciliation/?month={payment.charge_date:%Y-%m}&currency=USD")
    expect(page.get_by_role("heading", name=re.compile("USD"))).to_contain_text("Balanced")
    screenshot(page, "gocardless-reconciliation")
