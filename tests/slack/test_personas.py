"""The Slack pages for the three personas: admin of A edits, viewer of A reads, admin of B sees nothing of A."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.slack.models import RoutingRule, SlackPost
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.pipeline.models import Delivery
from tests.conftest import client_for
from tests.factories import ConnectionFactory
from tests.pipeline_helpers import INVOICE, stored_event
from tests.slack.helpers import rule, sandbox_slack_connection

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {
    "slack-rules",
    "slack-rule-new",
    "slack-rule-edit",
    "slack-rule-preview",
    "slack-rule-action",
    "slack-channels-refresh",
    "slack-posts",
    "slack-posts-replay",
    "slack-post-replay",
}


@pytest.fixture
def slack_a(tenant_a):
    conn = sandbox_slack_connection(tenant_a)
    from integrations.slack.channels import refresh_channels

    refresh_channels(conn)
    return conn


@pytest.fixture
def rule_a(tenant_a, slack_a):
    return rule(tenant_a, "Big invoices", "exec-alerts", ["invoice.create"], "above", "5000")


@pytest.fixture
def failed_post(tenant_a, slack_a, rule_a):
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    event = stored_event(source, status="processed", invoice_number="INV-9", counterparty="Northwind Traders")
    delivery = Delivery.objects.create(
        tenant=tenant_a,
        event=event,
        connection=slack_a,
        provider="slack",
        event_type="invoice.create",
        next_attempt_at=event.received_at,
        status="failed",
        last_error="archived",
    )
    return SlackPost.objects.create(
        tenant=tenant_a,
        connection=slack_a,
        delivery=delivery,
        event=event,
        rule=rule_a,
        rule_name=rule_a.name,
        event_type="invoice.create",
        channel_id=rule_a.channel_id,
        channel_name="exec-alerts",
        status="failed",
        last_error="Slack: the channel is archived",
        invoice_number="INV-9",
        counterparty="Northwind Traders",
    )


def form(**overrides):
    data = {
        "name": "Big invoices",
        "enabled": "on",
        "event_types": ["invoice.create"],
        "comparison": "above",
        "threshold": "5000",
        "currency": "",
        "counterparty": "",
        "exclude_categories": "",
        "channel": slack_sandbox.channel_id("exec-alerts"),
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_rule_and_it_is_described_in_plain_words(admin_a, slack_a):
    client = client_for(admin_a)
    response = client.post(reverse("slack-rule-new"), form())
    assert response.status_code == 302
    saved = RoutingRule.objects.get()
    assert saved.channel_name == "exec-alerts" and saved.team_id == slack_sandbox.TEAM_ID
    page = client.get(reverse("slack-rules"))
    assert b"Invoice created; amount above 5,000.00 \xe2\x86\x92 #exec-alerts" in page.content


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"event_types": []}, "event_types", "Choose at least one event type."),
        ({"threshold": "-5"}, "threshold", "The threshold cannot be negative."),
        ({"channel": "CNOSUCH"}, "channel", "not in your Slack workspace"),
        ({"comparison": "above", "threshold": ""}, "threshold", "Enter the amount to compare with."),
        ({"comparison": "", "threshold": "10"}, "comparison", "Choose at least, above or below"),
        ({"currency": "dollars"}, "currency", "three-letter currency code"),
    ],
)
def test_bad_input_gets_a_clear_message_next_to_the_field_and_changes_nothing(
    admin_a, slack_a, overrides, field, message
):
    response = client_for(admin_a).post(reverse("slack-rule-new"), form(**overrides))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message.encode() in response.content
    assert not RoutingRule.objects.exists()


def test_preview_shows_which_recent_events_would_post_without_posting(admin_a, tenant_a, slack_a, rule_a):
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    stored_event(source, status="processed", amount="6000.00", currency="USD", counterparty="Northwind Traders")
    small = {**INVOICE, "id": 4002}
    stored_event(source, record=small, object_id=4002, status="processed", amount="120.00", currency="USD")
    page = client_for(admin_a).get(reverse("slack-rule-preview", args=[rule_a.pk]))
    assert page.status_code == 200
    rows = page.context["preview"]
    assert [r.would_post for r in rows].count(True) == 1
    html = page.content.decode()
    assert '<span class="title">Invoice created</span>' in html and "6,000.00 USD · Northwind Traders" in html
    assert slack_sandbox.messages("exec-alerts") == []


def test_the_unsaved_form_can_be_previewed_too(admin_a, tenant_a, slack_a):
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    stored_event(source, status="processed", amount="6000.00", currency="USD")
    response = client_for(admin_a).post(reverse("slack-rule-new"), {**form(), "preview": "1"})
    assert response.status_code == 200 and len(response.context["preview"]) == 1
    assert not RoutingRule.objects.exists()


def test_rules_reorder_enable_and_delete(admin_a, tenant_a, slack_a, rule_a):
    second = rule(tenant_a, "All invoices", "accounting", ["invoice.create"])
    client = client_for(admin_a)
    client.post(reverse("slack-rule-action", args=[second.pk]), {"action": "up"})
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "All invoices",
        "Big invoices",
    ]
    client.post(reverse("slack-rule-action", args=[rule_a.pk]), {"action": "disable"})
    assert not RoutingRule.objects.get(pk=rule_a.pk).enabled
    client.post(reverse("slack-rule-action", args=[rule_a.pk]), {"action": "delete"})
    assert not RoutingRule.objects.filter(pk=rule_a.pk).exists()


def test_a_viewer_reads_but_cannot_change_and_is_told_so(viewer_a, slack_a, rule_a, failed_post):
    client = client_for(viewer_a)
    page = client.get(reverse("slack-rules"))
    assert page.status_code == 200 and b"Only admins of Acme Ltd can change them" in page.content
    assert b"Big invoices" in page.content and b'value="delete"' not in page.content
    assert client.get(reverse("slack-rule-edit", args=[rule_a.pk])).status_code == 200
    assert client.get(reverse("slack-rule-preview", args=[rule_a.pk])).status_code == 200
    assert client.get(reverse("slack-posts")).status_code == 200
    assert client.post(reverse("slack-rule-new"), form()).status_code == 403
    assert client.post(reverse("slack-rule-edit", args=[rule_a.pk]), form(name="x")).status_code == 403
    assert client.post(reverse("slack-rule-action", args=[rule_a.pk]), {"action": "delete"}).status_code == 403
    assert client.post(reverse("slack-channels-refresh")).status_code == 403
    assert client.get(reverse("slack-posts-replay")).status_code == 403
    assert client.post(reverse("slack-post-replay", args=[failed_post.pk])).status_code == 403
    assert RoutingRule.objects.get(pk=rule_a.pk).name == "Big invoices"


def test_another_tenant_sees_nothing_of_tenant_a(admin_b, tenant_b, rule_a, failed_post):
    client = client_for(admin_b)
    assert client.get(reverse("slack-rule-edit", args=[rule_a.pk])).status_code == 404
    assert client.get(reverse("slack-rule-preview", args=[rule_a.pk])).status_code == 404
    assert client.post(reverse("slack-rule-action", args=[rule_a.pk]), {"action": "delete"}).status_code == 404
    assert client.post(reverse("slack-post-replay", args=[failed_post.pk])).status_code == 404
    rules_page = client.get(reverse("slack-rules"))
    assert rules_page.status_code == 200 and b"Big invoices" not in rules_page.content
    posts_page = client.get(reverse("slack-posts"))
    assert b"INV-9" not in posts_page.content
    replay = client.get(reverse("slack-posts-replay"))
    assert replay.status_code == 200 and replay.context["count"] == 0
    assert client.post(reverse("slack-channels-refresh")).status_code == 302  # B has no Slack: told to connect
    assert RoutingRule.objects.filter(pk=rule_a.pk).exists()


def test_failed_posts_are_searchable_and_replayed_in_bulk_after_seeing_how_many(admin_a, failed_post):
    client = client_for(admin_a)
    page = client.get(reverse("slack-posts"), {"status": "failed", "q": "INV-9"})
    assert b"INV-9" in page.content and b"Slack: the channel is archived" in page.content
    confirm = client.get(reverse("slack-posts-replay"), {"status": "failed"})
    assert confirm.context["count"] == 1 and b"Replay 1 failed post" in confirm.content
    stale = client.post(reverse("slack-posts-replay") + "?status=failed", {"expected": "2"})
    assert stale.status_code == 200 and Delivery.objects.get().status == "failed"
    done = client.post(reverse("slack-posts-replay") + "?status=failed", {"expected": "1"})
    assert done.status_code == 302
    assert Delivery.objects.get().replays == 1


def test_the_channel_list_can_be_refreshed(admin_a, slack_a):
    response = client_for(admin_a).post(reverse("slack-channels-refresh"), follow=True)
    assert b"channels listed from Sandbox Workspace" in response.content


def test_home_and_the_connection_page_link_to_the_rules_and_posts(viewer_a, slack_a):
    client = client_for(viewer_a)
    for page in (client.get(reverse("home")), client.get(reverse("connection-detail", args=[slack_a.pk]))):
        assert page.status_code == 200
        assert f'href="{reverse("slack-rules")}"'.encode() in page.content
        assert f'href="{reverse("slack-posts")}"'.encode() in page.content
