"""The product in a real browser (Chromium, headless) against the live server and the sandboxes.

Each test is one person's journey. The screenshots they take are the README's.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from mlconnector.connections.models import Connection
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    expect_state,
    go_home,
    health_text,
    login,
    open_event,
    provider_card,
    reconnect,
    revoke_token,
    run_pipeline,
    screenshot,
)
from tests.factories import ConnectionFactory, DeliveryFactory, InboundEventFactory
from tests.pipeline_helpers import sink_connection
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_newcomer_connects_freshbooks_and_follows_an_invoice_to_its_timeline(page: Page, admin_a, tenant_a):
    sink_connection(tenant_a)  # a target that consumes invoices (the Slack journey connects Slack instead)
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    login(page, "alice")
    expect_state(page, "freshbooks", "not connected")

    message = connect_via_oauth(page, "freshbooks", "FreshBooks")
    assert "FreshBooks connected: Demo Books Ltd" in message
    expect_state(page, "freshbooks", "connected")
    # Webhooks registered and verified (callback.verify) with no further steps, and the page says so.
    provider_card(page, "freshbooks").get_by_role("link", name="Demo Books Ltd").click()
    changes = page.locator("section", has=page.get_by_role("heading", name="Setup and changes"))
    expect(changes).to_contain_text("registered FreshBooks webhooks: invoice.create, invoice.update, payment.create")
    expect(changes.get_by_text(re.compile(r"webhook callback \d+ \(invoice.create\) verified"))).to_be_visible()

    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()
    go_home(page)
    recent = page.locator("table", has=page.get_by_text("Received"))
    expect(recent).to_contain_text(f"#{number}")
    expect(recent).to_contain_text("Northwind Traders")

    open_event(page, number)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Invoice created #{number} Delivered")
    timeline = page.locator("ol.timeline")
    for step in ("Received and verified", "Enriched", "Sent to the connected apps", "Delivery attempt"):
        expect(timeline).to_contain_text(step)
    deliveries = page.locator("section", has=page.get_by_role("heading", name="Deliveries"))
    expect(deliveries).to_contain_text("Delivered")
    remote_id = deliveries.locator("code").first.inner_text()
    assert remote_id and remote_id != "—"
    expect(timeline).to_contain_text(f"remote id {remote_id}")
    page.get_by_text("Show the record as fetched").click()  # admins see the payload
    expect(page.locator("pre.payload")).to_contain_text("Northwind Traders")

    page.goto("/audit/")
    expect(page.locator("table.events")).to_contain_text(f"#{number}")
    assert effect_count() == 1


def test_a_revoked_token_shows_what_waits_and_reconnecting_sends_it_once(page: Page, admin_a, tenant_a):
    sink_connection(tenant_a)
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    revoke_token("freshbooks", "/invoices/")
    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()

    summary = health_text(page, "freshbooks")
    assert re.match(r"Token revoked or expired (just now|.+ ago) — 1 invoice waiting", summary), summary
    expect_state(page, "freshbooks", "needs reconnect")
    provider_card(page, "freshbooks").get_by_role("link", name="Demo Books Ltd").click()
    expect(page.locator(".health-card .health")).to_contain_text("1 invoice waiting")
    expect(page.get_by_role("link", name="Reconnect FreshBooks")).to_be_visible()
    screenshot(page, "connection-health")

    reconnect(page, "freshbooks", "FreshBooks")
    run_pipeline()
    expect_state(page, "freshbooks", "connected")
    open_event(page, number)
    expect(page.locator("section", has=page.get_by_role("heading", name="Deliveries"))).to_contain_text("Delivered")
    assert effect_count() == 1  # the waiting invoice arrived exactly once


def test_declining_consent_says_so_and_connects_nothing(page: Page, admin_a):
    login(page, "alice")
    message = connect_via_oauth(page, "freshbooks", "FreshBooks", decision="deny")
    assert "You declined access to FreshBooks; nothing was connected." in message
    expect_state(page, "freshbooks", "not connected")
    assert not Connection.objects.exists()


def test_pause_holds_and_resume_drains(page: Page, admin_a, tenant_a):
    sink = sink_connection(tenant_a)
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    provider_card(page, "testsink").get_by_role("button", name="Pause").click()
    expect(page.locator(".messages")).to_contain_text("Test sink is paused")
    expect_state(page, "testsink", "paused")
    create_freshbooks_invoice(page)
    run_pipeline()
    assert "1 invoice held" in health_text(page, "testsink") and effect_count() == 0
    provider_card(page, "testsink").get_by_role("button", name="Resume").click()
    expect(page.locator(".messages")).to_contain_text("everything held is being sent now")
    run_pipeline()
    assert effect_count() == 1
    sink.refresh_from_db()
    assert sink.status == "active"


def test_a_viewer_reads_everything_and_can_change_nothing(page: Page, viewer_a, tenant_a):
    books = ConnectionFactory(
        tenant=tenant_a,
        provider="freshbooks",
        name="Demo Books Ltd",
        status="needs_reconnect",
        last_error="FreshBooks refused the refresh token (invalid_grant)",
    )
    event = InboundEventFactory(connection=books, invoice_number="0000042", counterparty="Northwind Traders")
    event.payload = {"organization": "Northwind Traders", "note": "payload-marker"}
    event.save()
    DeliveryFactory(event=event, last_error="HTTP 503 from the sink")
    login(page, "victor")
    expect(page.locator("header")).to_contain_text("viewer")
    card = provider_card(page, "freshbooks")
    expect(card.get_by_role("button", name="Reconnect FreshBooks")).to_be_disabled()
    expect(card.get_by_role("button", name="Disconnect")).to_be_disabled()
    expect(card).to_contain_text("Only admins of Acme Ltd can reconnect, pause, resume, replay or disconnect")
    expect(provider_card(page, "monday").get_by_role("button", name="Connect Monday.com")).to_be_disabled()
    screenshot(page, "viewer-home")

    open_event(page, "0000042")
    expect(page.get_by_role("button", name="Replay")).to_be_disabled()
    expect(page.get_by_text("Only admins of Acme Ltd can replay deliveries.")).to_be_visible()
    expect(page.get_by_text("Only admins of Acme Ltd can view payloads.")).to_be_visible()
    assert "payload-marker" not in page.content()

    page.goto("/team/")
    expect(page.get_by_role("button", name="Send invitation")).to_be_disabled()
    # A forged POST with the viewer's own session and CSRF token is refused, and nothing changes.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    forged = page.request.post(
        f"/connections/{books.pk}/status/",
        form={"csrfmiddlewaretoken": token, "action": "disconnect"},
        headers={"Referer": page.url},
    )
    assert forged.status == 403
    books.refresh_from_db()
    assert books.status == "needs_reconnect"


def test_a_user_of_tenant_b_cannot_reach_tenant_a_by_url(page: Page, admin_b, tenant_a):
    books = ConnectionFactory(tenant=tenant_a, provider="freshbooks", name="Acme Books")
    event = InboundEventFactory(connection=books, invoice_number="0000042")
    login(page, "bob")
    expect(page.locator("main")).not_to_contain_text("Acme Books")
    for path in (f"/connections/{books.pk}/", f"/audit/events/{event.pk}/", f"/connections/{books.pk}/choose/"):
        assert page.goto(path).status == 404, path
    page.goto("/audit/?q=0000042")
    expect(page.get_by_text("No events match this filter.")).to_be_visible()


def test_an_admin_invites_a_newcomer_who_joins_with_the_emailed_link(page: Page, second_page: Page, admin_a):
    login(page, "alice")
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email address").fill("newcomer@example.com")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".messages")).to_contain_text("Invitation sent to newcomer@example.com as viewer")
    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body)[0]

    newcomer = second_page
    newcomer.goto(link)
    newcomer.get_by_label("Username").fill("newcomer")
    newcomer.get_by_label("Password", exact=True).fill("a-Long-pass-phrase-9")
    newcomer.get_by_label("Password confirmation").fill("a-Long-pass-phrase-9")
    newcomer.get_by_role("button", name="Create account and join").click()
    expect(newcomer.locator(".messages")).to_contain_text("Welcome to Acme Ltd. You joined as viewer.")
    # The link worked once.
    newcomer.goto(link)
    expect(newcomer.get_by_role("alert")).to_contain_text("already been used")


def test_pages_are_keyboard_usable_and_every_field_is_labelled(page: Page, admin_a, tenant_a):
    login(page, "alice")
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    InboundEventFactory(connection=ConnectionFactory(tenant=tenant_a), invoice_number="0000042")
    for path in ("/", "/audit/", "/team/", "/accounts/password_change/"):
        page.goto(path)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (path, unlabelled)
        assert page.locator("main#main").count() == 1 and page.locator("header").count() == 1
    # Tab order reaches the search box and the Filter button on the audit log without a mouse.
    page.goto("/audit/")
    page.get_by_label("Search").focus()
    page.keyboard.type("0000042")
    page.keyboard.press("Enter")
    expect(page.locator("table.events")).to_contain_text("#0000042")
