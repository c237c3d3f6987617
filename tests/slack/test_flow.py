"""FreshBooks → Slack end to end through both sandboxes: routing, revocation, pacing, replay."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.freshbooks.sandbox.state import rows
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxAccount
from integrations.slack.models import SlackPost
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.ratelimit import limiter
from mlconnector.webhooks.models import InboundEvent
from tests.conftest import client_for
from tests.freshbooks.test_flow import CONSOLE, create_invoice
from tests.slack.helpers import connect_slack, slack_connection, texts

pytestmark = pytest.mark.django_db


def drain() -> None:
    for _ in range(5):
        dispatcher.tick()


def create(kind: str, **fields) -> None:
    """Use the sandbox FreshBooks console, as a person would."""
    response = Client().post(f"{CONSOLE}/{kind}/", {f"{kind}-{k}": v for k, v in fields.items()})
    assert response.status_code in (200, 302), response.content[:300]


def category_id(name: str) -> str:
    account = SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")
    return next(str(r.data["id"]) for r in rows(account, "category") if r.data["category"] == name)


def test_connecting_slack_stores_the_bot_token_encrypted_and_lists_channels(world, tenant_a):
    conn = slack_connection(tenant_a)
    assert conn.status == "active" and conn.external_account_id == slack_sandbox.TEAM_ID
    assert conn.secrets()["access_token"].startswith("xoxe.xoxb-") and conn.secrets()["refresh_token"]
    names = {c["name"] for c in conn.config["channels"]}
    assert {"accounting", "exec-alerts", "accounting-team"} <= names and "old-finance" not in names
    assert conn.token_expires_at is not None


def test_an_invoice_over_5000_goes_to_exec_alerts_and_accounting_once_each(world):
    create_invoice("6000.00")
    drain()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1
    assert "6,000.00 USD" in texts("exec-alerts")[0] and "Northwind Traders" in texts("exec-alerts")[0]
    message = slack_sandbox.messages("exec-alerts")[0]
    assert message["blocks"][0]["type"] == "header"
    posts = SlackPost.objects.all()
    assert {p.channel_name for p in posts} == {"exec-alerts", "accounting"}
    assert all(p.status == "posted" and p.ts and p.rule_name and p.source_payload for p in posts)
    assert Delivery.objects.get(provider="slack").status == "succeeded"
    # A redelivered webhook or a second dispatch posts nothing more.
    drain()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1


def test_a_small_invoice_only_goes_to_accounting(world):
    create_invoice("120.00")
    drain()
    assert texts("exec-alerts") == [] and len(texts("accounting")) == 1


def test_an_expense_in_an_excluded_category_posts_nothing_and_a_bill_goes_to_accounting_team(world):
    create("expense", vendor="Office party", amount="80.00", categoryid=category_id("Internal"), date="2026-11-20")
    create("expense", vendor="Airline", amount="450.00", categoryid=category_id("Travel"), date="2026-11-20")
    create("bill", vendor_name="Initech Supplies", amount="990.00", currency_code="USD", due_date="2026-12-20")
    drain()
    assert [t for t in texts("accounting") if "Office party" in t] == []
    assert len([t for t in texts("accounting") if "Airline" in t]) == 1
    assert len(texts("accounting-team")) == 1 and "Initech Supplies" in texts("accounting-team")[0]
    (internal,) = [
        e for e in InboundEvent.objects.filter(event_type="expense.create") if e.counterparty == "Office party"
    ]
    delivery = Delivery.objects.get(event=internal)
    assert delivery.status == "skipped" and not SlackPost.objects.filter(event=internal).exists()  # nothing to send


def test_revoking_the_token_parks_deliveries_and_reconnecting_drains_them_once(world, tenant_a):
    slack_sandbox.revoke_tokens()
    create_invoice("7000.00")
    create_invoice("80.00")
    drain()
    conn = slack_connection(tenant_a)
    assert conn.status == Connection.Status.NEEDS_RECONNECT and "revoked" in conn.last_error
    assert Delivery.objects.filter(provider="slack", status="waiting").count() == 2
    assert texts("accounting") == []

    page = connect_slack(world, query=f"?connection={conn.pk}").content.decode()
    assert "Slack reconnected: " in page and "4 routing rules are in place" in page
    assert "2 posts that waited are being sent now." in page and "Add routing rules" not in page
    drain()
    assert slack_connection(tenant_a).status == "active"
    assert Delivery.objects.filter(provider="slack", status="succeeded").count() == 2
    assert len(texts("accounting")) == 2 and len(texts("exec-alerts")) == 1
    drain()
    assert len(texts("accounting")) == 2


def test_an_archived_channel_holds_that_post_only_and_a_replay_sends_just_the_missing_one(world):
    slack_sandbox.set_archived("exec-alerts", True)
    create_invoice("9000.00")
    drain()
    delivery = Delivery.objects.get(provider="slack")
    assert delivery.status == "waiting" and "exec-alerts" in delivery.last_error and "archived" in delivery.last_error
    assert delivery.attempts == 0 and len(texts("accounting")) == 1
    post = SlackPost.objects.get(channel_name="exec-alerts")
    assert post.status == "waiting" and post.error_code == "is_archived"

    # A person who knows the channel is back can replay at once (the channel check would too, later).
    slack_sandbox.set_archived("exec-alerts", False)
    replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=None)
    drain()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1
    assert Delivery.objects.get(pk=delivery.pk).status == "succeeded"
    # A bulk replay of what already succeeded sends nothing.
    result = replay_deliveries(Delivery.objects.filter(provider="slack"), actor=None)
    assert result.queued == [] and len(texts("accounting")) == 1


def test_a_read_timeout_is_not_posted_twice_but_waits_for_a_person(world):
    faults.add("slack", "timeout", match="chat.postMessage")
    create_invoice("100.00")
    drain()
    post = SlackPost.objects.get()
    assert post.status == "uncertain" and "may have been posted" in post.last_error
    delivery = Delivery.objects.get(provider="slack")
    assert delivery.status == "failed"
    replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=None)
    drain()
    assert SlackPost.objects.get().status == "uncertain"  # a plain replay does not guess
    response = world.post(f"/slack/posts/{post.pk}/replay/")
    assert response.status_code == 302
    drain()
    assert SlackPost.objects.get().status == "posted" and len(texts("accounting")) == 1


def test_a_429_is_retried_in_the_channels_next_slot_after_the_wait_slack_named(world):
    faults.add(
        "slack",
        status=429,
        match="chat.postMessage",
        headers={"Retry-After": "1"},
        body={"ok": False, "error": "ratelimited"},
    )
    create_invoice("100.00")
    drain()
    delivery = Delivery.objects.get(provider="slack")
    assert delivery.status == "succeeded" and len(texts("accounting")) == 1
    calls = [
        r
        for r in AuditRecord.objects.filter(kind="http", provider="slack").order_by("id")
        if "chat.postMessage" in r.url
    ]
    assert [c.status_code for c in calls] == [429, 200]


def test_a_channel_that_keeps_answering_429_defers_the_delivery_without_using_attempts(world):
    body = {"ok": False, "error": "ratelimited"}
    faults.add("slack", status=429, match="chat.postMessage", headers={"Retry-After": "1"}, body=body, times=3)
    create_invoice("100.00")
    drain()
    delivery = Delivery.objects.get(provider="slack")
    assert delivery.status == "retrying" and delivery.attempts == 0
    assert SlackPost.objects.get().status == "pending" and texts("accounting") == []
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    limiter().reset()  # the named wait has passed (without sleeping through it here)
    drain()
    assert Delivery.objects.get(pk=delivery.pk).status == "succeeded" and len(texts("accounting")) == 1


def test_an_expired_rotating_token_is_refreshed_once_and_the_post_goes_out(world, tenant_a):
    from django.utils import timezone

    from integrations.sandbox.models import SandboxToken

    conn = slack_connection(tenant_a)
    before = conn.credentials_version
    SandboxToken.objects.filter(provider="slack", kind="access").update(expires_at=timezone.now())
    create_invoice("100.00")
    drain()
    conn.refresh_from_db()
    assert conn.status == "active" and conn.credentials_version == before + 1
    assert len(texts("accounting")) == 1
    assert slack_sandbox.spent_refresh_tokens() == 1


def test_declining_the_slack_install_connects_nothing(db, admin_a):
    slack_sandbox.ensure_workspace()
    page = connect_slack(client_for(admin_a), decision="cancel")
    assert b"You declined access to Slack" in page.content
    assert not Connection.objects.filter(provider="slack").exists()


def test_connect_explains_a_missing_oauth_app_instead_of_sending_people_to_slack(db, admin_a, settings):
    settings.SLACK_CLIENT_ID = ""
    response = client_for(admin_a).get("/connections/slack/connect/", follow=True)
    assert b"Slack is not set up on this server yet" in response.content and b"SLACK_CLIENT_ID" in response.content
    assert response.redirect_chain[-1][0] == "/"


def test_the_event_page_links_each_channel_to_its_message(world):
    from django.urls import reverse

    create_invoice("6000.00")
    drain()
    event = InboundEvent.objects.get(event_type="invoice.create")
    page = world.get(reverse("audit-event", args=[event.pk])).content.decode()
    for channel in ("exec-alerts", "accounting"):
        post = SlackPost.objects.get(channel_name=channel, status="posted")
        assert f'href="http://testserver/sandbox/slack/channels/{post.channel_id}/#m{post.ts}"' in page
        assert f">#{channel}</a>" in page
    assert "C0EXECALERTS:" not in page  # not the raw remote id
