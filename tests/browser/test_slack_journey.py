"""The Slack journey in a real browser: FreshBooks invoices routed to a Slack channel by a rule the
admin writes in the rule editor, seen on the sandbox Slack channel page; a revoked token parks the
message, the home page says what waits, and reconnecting sends it exactly once. An archived channel
holds its post, which goes out by itself once the channel is unarchived — once.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.slack.routing import RoutingRule
from integrations.slack.sandbox import state as slack_sandbox
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
    run_job_now,
    run_pipeline,
    screenshot,
    seed_sandbox,
)
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

RULE = "Invoices over 5,000"


@pytest.fixture
def slack_live(live, settings):
    # Our pacing a little wider than the sandbox's per-channel limit (as in production), both short,
    # so three posts to #exec-alerts never wait a second each nor earn a 429 from timing jitter.
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0.02
    settings.SLACK_CHANNEL_INTERVAL = 0.05
    settings.SLACK_PACING_MARGIN = 0.0
    seed_sandbox("slack")
    return live


def open_channel(page: Page, name: str) -> None:
    """The sandbox Slack workspace page → the channel's own page (what a person reads in Slack)."""
    page.goto("/sandbox/slack/")
    page.get_by_role("link", name=f"#{name}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{name}")
    expect(page.locator("ul.messages")).to_have_count(0)  # the channel's posts are not shown as a flash


def channel_messages(page: Page, invoice: str):
    return page.locator("article.message").filter(has_text=f"({invoice})")


def add_rule_over_5000_to_exec_alerts(page: Page) -> None:
    page.goto("/slack/rules/")
    expect(page.get_by_text("No rules yet")).to_be_visible()
    page.get_by_role("link", name="Add a rule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New Slack routing rule")
    page.get_by_label("Rule name").fill(RULE)
    page.get_by_role("group", name="When").get_by_label("Invoice created").check()
    # A threshold without a comparison is refused next to the field, in plain words.
    page.get_by_label("Threshold").fill("5000")
    page.get_by_label("Post to channel").select_option(label="#exec-alerts")
    page.get_by_role("button", name="Save rule").click()
    expect(
        page.get_by_role("alert").filter(has_text="Choose at least, above or below for this amount.")
    ).to_be_visible()
    page.get_by_label("Amount").select_option(label="above")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Rule “{RULE}” saved: Invoice created; amount above 5,000.00 → #exec-alerts."
    )
    rules = page.locator("table.rules")
    expect(rules).to_contain_text(RULE)
    expect(rules).to_contain_text("#exec-alerts")
    expect(rules.get_by_text("Enabled")).to_be_visible()


def test_an_invoice_over_5000_reaches_exec_alerts_and_a_revoked_token_sends_it_once_after_reconnect(
    page: Page, slack_live, admin_a, tenant_a
):
    login(page, "alice")
    message = connect_via_oauth(page, "freshbooks", "FreshBooks")
    assert "FreshBooks connected" in message

    message = connect_via_oauth(page, "slack", "Slack")
    assert re.search(r"Slack connected: .+ \(\d+ channels available\)", message), message
    tabs = page.get_by_role("navigation", name="Slack pages")
    expect(tabs.get_by_role("link", name="Routing rules")).to_have_attribute("aria-current", "page")
    expect(page.locator(".tabs .workspace")).to_contain_text("Workspace Sandbox Workspace")
    go_home(page)
    expect_state(page, "slack", "connected")

    add_rule_over_5000_to_exec_alerts(page)
    screenshot(page, "slack-rules")

    first = create_freshbooks_invoice(page, amount="6000.00")
    small = create_freshbooks_invoice(page, amount="120.00")  # under the threshold: posts nothing
    run_pipeline()
    open_channel(page, "exec-alerts")
    expect(channel_messages(page, first)).to_have_count(1)
    posted = channel_messages(page, first)
    expect(posted).to_contain_text("Northwind Traders")
    expect(posted).to_contain_text("6,000.00")
    expect(channel_messages(page, small)).to_have_count(0)
    slack_ts = posted.locator("header code").inner_text().removeprefix("ts ")
    screenshot(page, "slack-channel")

    open_event(page, first)
    timeline = page.locator("ol.timeline")
    for step in ("Received and verified", "Enriched", "Sent to the connected apps", "Delivery attempt"):
        expect(timeline).to_contain_text(step)
    deliveries = page.locator("section", has=page.get_by_role("heading", name="Deliveries"))
    slack_row = deliveries.locator("tr", has_text="Slack")
    expect(slack_row).to_contain_text("Delivered")
    # What was written is named as Slack's people know it: the channel, linked to the message itself.
    written = slack_row.get_by_role("link", name="#exec-alerts")
    message_url = f"/channels/{slack_sandbox.channel_id('exec-alerts')}/#m{slack_ts}"
    expect(written).to_have_attribute("href", re.compile(re.escape(message_url)))
    expect(timeline.get_by_role("link", name="#exec-alerts")).to_have_count(1)
    screenshot(page, "event-timeline")

    # The editor's preview tries the rule on recent events: the 6,000 invoice would post, the small one not.
    page.goto("/slack/rules/")
    page.get_by_role("link", name=RULE).click()
    page.get_by_role("button", name="Preview this rule").click()
    preview = page.locator("section", has=page.get_by_role("heading", name=re.compile("Preview against")))
    expect(preview.locator("tr", has_text=first).locator("td").nth(4)).to_have_text("Yes")
    expect(preview.locator("tr", has_text=small).locator("td").nth(4)).to_have_text("No")
    expect(preview.locator("tr", has_text=first)).to_contain_text("Northwind Traders")
    screenshot(page, "slack-rule-preview")
    assert RoutingRule.objects.count() == 1  # a preview saves nothing

    # Make Slack fail: the workspace revokes ml-connector's token.
    page.goto("/sandbox/slack/")
    page.get_by_role("button", name="Revoke ml-connector's token").click()
    expect(page.locator(".messages")).to_contain_text("ml-connector's next call gets token_revoked")
    second = create_freshbooks_invoice(page, amount="7500.00")
    run_pipeline()

    summary = health_text(page, "slack")
    assert re.match(r"Token revoked or expired (just now|.+ ago) — 1 invoice waiting", summary), summary
    expect_state(page, "slack", "needs reconnect")
    expect(provider_card(page, "slack").get_by_role("link", name="Reconnect Slack")).to_be_visible()
    screenshot(page, "needs-reconnect")
    open_channel(page, "exec-alerts")
    expect(channel_messages(page, second)).to_have_count(0)

    message = reconnect(page, "slack", "Slack")
    assert "Slack reconnected" in message and "1 post that waited is being sent now" in message, message
    run_pipeline()
    go_home(page)
    expect_state(page, "slack", "connected")
    open_channel(page, "exec-alerts")
    expect(channel_messages(page, second)).to_have_count(1)
    expect(channel_messages(page, second)).to_contain_text("7,500.00")
    expect(channel_messages(page, first)).to_have_count(1)
    # Once more through the worker: nothing is posted twice.
    run_pipeline()
    texts = [m["text"] for m in slack_sandbox.messages("exec-alerts")]
    assert len(texts) == 2 and [f"({first})" in texts[0], f"({second})" in texts[1]] == [True, True], texts
    go_home(page)
    expect(provider_card(page, "slack").get_by_role("link", name="Routing rules")).to_be_visible()
    screenshot(page, "home")
    page.goto("/audit/")
    expect(page.locator("table.events")).to_contain_text(f"#{second}")
    screenshot(page, "audit-log")


def test_a_post_to_an_archived_channel_waits_and_goes_out_by_itself_once_it_is_unarchived(
    page: Page, slack_live, admin_a, tenant_a
):
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    connect_via_oauth(page, "slack", "Slack")
    add_rule_over_5000_to_exec_alerts(page)

    # Someone archives #exec-alerts in Slack; an invoice over 5,000 arrives.
    page.goto("/sandbox/slack/")
    page.get_by_role("button", name="Archive exec-alerts").click()
    expect(page.locator(".messages")).to_contain_text("archived")
    number = create_freshbooks_invoice(page, amount="8000.00")
    run_pipeline()

    # ml-connector says what waits, and for what; nobody has to replay anything.
    page.goto("/slack/posts/")
    tabs = page.get_by_role("navigation", name="Slack pages")
    expect(tabs.get_by_role("link", name="Posts")).to_contain_text("1 waiting")
    row = page.locator("table.posts tbody tr", has_text=number)
    expect(row.locator(".badge")).to_have_text("Waiting for the channel")
    expect(row).to_contain_text("The channel is archived; it is posted by itself once the channel is unarchived")
    screenshot(page, "slack-posts-waiting")
    page.goto("/slack/rules/")
    expect(page.get_by_role("status")).to_contain_text("1 post waits for its channel.")
    expect(page.get_by_role("status")).to_contain_text("#exec-alerts: archived (1 post)")
    assert "1 invoice waiting" in health_text(page, "slack")
    expect_state(page, "slack", "connected")  # the token is fine: nothing to reconnect
    open_channel(page, "exec-alerts")
    expect(channel_messages(page, number)).to_have_count(0)

    # Someone unarchives it in Slack. Nobody touches ml-connector: its channel check runs (every 10
    # minutes; made due here) and the post goes out.
    page.get_by_role("button", name="Unarchive").click()
    expect(page.locator(".messages")).to_contain_text("unarchived")
    run_job_now("slack", "channels")
    run_pipeline()
    open_channel(page, "exec-alerts")
    expect(channel_messages(page, number)).to_have_count(1)
    expect(channel_messages(page, number)).to_contain_text("8,000.00 USD")
    page.goto("/slack/posts/")
    expect(page.locator("table.posts tbody tr", has_text=number).locator(".badge")).to_have_text("Posted")
    expect(tabs.get_by_role("link", name="Posts")).not_to_contain_text("waiting")

    open_event(page, number)
    deliveries = page.locator("section", has=page.get_by_role("heading", name="Deliveries"))
    expect(deliveries.locator("tr", has_text="Slack")).to_contain_text("Delivered")
    expect(page.locator("ol.timeline")).to_contain_text("#exec-alerts can be posted to again")

    # Once more through the worker, and another check: nothing is posted twice.
    run_job_now("slack", "channels")
    run_pipeline()
    assert [f"({number})" in m["text"] for m in slack_sandbox.messages("exec-alerts")] == [True]


def test_declining_slack_consent_says_so_and_connects_nothing(page: Page, slack_live, admin_a):
    login(page, "alice")
    message = connect_via_oauth(page, "slack", "Slack", decision="deny")
    assert "You declined access to Slack; nothing was connected." in message
    expect_state(page, "slack", "not connected")


def exec_alerts_rule(tenant) -> RoutingRule:
    """Tenant's Slack workspace (its channel list known) and the rule "invoices over 5,000 → #exec-alerts"."""
    channels = [{"id": "C0EXEC", "name": "exec-alerts", "is_private": False}]
    ConnectionFactory(
        tenant=tenant, provider="slack", name="Acme Workspace", config={"team_id": "T0", "channels": channels}
    )
    return RoutingRule.objects.create(
        tenant=tenant,
        team_id="T0",
        name=RULE,
        event_types=["invoice.create"],
        comparison=RoutingRule.Comparison.ABOVE,
        threshold=5000,
        channel_id="C0EXEC",
        channel_name="exec-alerts",
    )


def test_a_viewer_reads_the_slack_rules_and_cannot_change_them(page: Page, viewer_a, tenant_a):
    rule = exec_alerts_rule(tenant_a)
    login(page, "victor")
    page.goto("/slack/rules/")
    expect(page.get_by_role("note")).to_contain_text("Only admins of Acme Ltd can change them")
    expect(page.locator("table.rules")).to_contain_text(RULE)
    for name in ("Add a rule", "Refresh channel list"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Delete|Disable|Move"))).to_have_count(0)
    expect(page.get_by_role("link", name="Preview")).to_be_visible()  # reading is allowed

    page.get_by_role("link", name=RULE).click()
    expect(page.get_by_label("Rule name")).to_be_disabled()
    expect(page.get_by_role("button", name="Save rule")).to_have_count(0)
    expect(page.get_by_role("button", name="Preview this rule")).to_have_count(0)

    # Forged POSTs with the viewer's own session and CSRF token are refused, and nothing changes.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    for path, form in (
        (f"/slack/rules/{rule.pk}/action/", {"action": "delete"}),
        (f"/slack/rules/{rule.pk}/", {"name": "Hijacked", "event_types": "invoice.create", "channel": "C0EXEC"}),
        ("/slack/rules/new/", {"name": "Sneaky", "event_types": "invoice.create", "channel": "C0EXEC"}),
    ):
        forged = page.request.post(path, form={"csrfmiddlewaretoken": token, **form}, headers={"Referer": page.url})
        assert forged.status == 403, path
    rule.refresh_from_db()
    assert rule.name == RULE and rule.enabled and RoutingRule.objects.count() == 1


def test_a_user_of_tenant_b_cannot_reach_tenant_a_slack_rules_by_url(page: Page, admin_b, tenant_a):
    rule = exec_alerts_rule(tenant_a)
    login(page, "bob")
    page.goto("/slack/rules/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Slack routing rules")
    expect(page.locator("main")).not_to_contain_text(RULE)
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    for path in (f"/slack/rules/{rule.pk}/", f"/slack/rules/{rule.pk}/preview/"):
        assert page.goto(path).status == 404, path
    forged = page.request.post(
        f"/slack/rules/{rule.pk}/action/",
        form={"csrfmiddlewaretoken": token, "action": "delete"},
        headers={"Referer": page.url},
    )
    assert forged.status == 404
    assert RoutingRule.objects.filter(pk=rule.pk).exists()
