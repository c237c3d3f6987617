"""A post Slack refused because of its channel waits, and goes out by itself once the channel is usable
again (a channel-list refresh, the periodic channel check, or its rule pointed elsewhere) — once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.slack.models import RoutingRule, SlackPost
from integrations.slack.posting import _outcome
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.audit.models import AuditRecord
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.http import RateLimited
from mlconnector.pipeline.models import ConnectionJob, Delivery
from tests.freshbooks.test_flow import create_invoice
from tests.pipeline_helpers import audit_messages  # noqa: E402
from tests.slack.helpers import connect_slack, rule, slack_connection, texts
from tests.slack.test_flow import drain

pytestmark = pytest.mark.django_db


def calls_to(method: str) -> int:
    """Calls to a Slack method, from the audit trail (URLs are encrypted: matched in Python)."""
    return sum(method in r.url for r in AuditRecord.objects.filter(kind="http", provider="slack"))


def posts_to_slack() -> int:
    return calls_to("chat.postMessage")


def refresh(client) -> str:
    response = client.post("/slack/channels/refresh/", follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def waiting(world):
    """An invoice over 5,000 while #exec-alerts is archived: #accounting has it, #exec-alerts waits."""
    slack_sandbox.set_archived("exec-alerts", True)
    create_invoice("9000.00")
    drain()
    assert len(texts("accounting")) == 1 and texts("exec-alerts") == []
    return Delivery.objects.get(provider="slack")


def test_the_post_waits_with_the_reason_and_the_delivery_uses_no_attempt(waiting, world):
    assert waiting.status == "waiting" and waiting.attempts == 0
    assert "posted to #accounting" in waiting.last_error
    assert "#exec-alerts: the channel is archived" in waiting.last_error
    post = SlackPost.objects.get(channel_name="exec-alerts")
    assert post.status == "waiting" and post.get_status_display() == "Waiting for the channel"
    assert slack_connection(waiting.tenant).status == "active"  # the token is fine: nobody must reconnect
    page = world.get("/slack/posts/?status=waiting").content.decode()
    assert "Waiting for the channel" in page and "posted by itself once the channel is unarchived" in page


def test_a_channel_list_refresh_sends_it_once_the_channel_is_unarchived(waiting, world):
    before = posts_to_slack()
    assert "being sent now" not in refresh(world)  # still archived: nothing is tried
    assert posts_to_slack() == before and SlackPost.objects.get(channel_name="exec-alerts").status == "waiting"

    slack_sandbox.set_archived("exec-alerts", False)
    page = refresh(world)
    assert "1 post that waited for a channel is being sent now." in page
    drain()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1
    assert Delivery.objects.get(pk=waiting.pk).status == "succeeded"
    assert any("#exec-alerts can be posted to again" in m for m in audit_messages(delivery=waiting))
    # More refreshes, the periodic check, another tick: nothing is posted twice.
    refresh(world)
    ConnectionJob.objects.filter(name="channels").update(next_attempt_at=timezone.now())
    drain()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1


def test_the_periodic_channel_check_sends_it_without_anyone_pressing_anything(waiting, world):
    job = ConnectionJob.objects.get(connection__provider="slack", name="channels")
    assert job.every_seconds == 600
    slack_sandbox.set_archived("exec-alerts", False)
    ConnectionJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())  # ten minutes later
    drain()
    assert len(texts("exec-alerts")) == 1
    assert Delivery.objects.get(pk=waiting.pk).status == "succeeded"
    job.refresh_from_db()
    assert job.last_message == "1 of 1 waiting post sent again: the channel is usable now"


def test_the_periodic_check_calls_slack_only_while_a_post_waits(world):
    before = calls_to("conversations.list")
    ConnectionJob.objects.filter(name="channels").update(next_attempt_at=timezone.now())
    drain()
    assert calls_to("conversations.list") == before


def test_a_private_channel_the_app_is_not_in_waits_until_someone_invites_it(world, tenant_a):
    rule(tenant_a, "Board", "board-private", ["invoice.create"])
    create_invoice("120.00")
    drain()
    post = SlackPost.objects.get(channel_name="board-private")
    assert post.status == "waiting" and post.error_code == "not_in_channel"
    assert "once someone invites the app" in post.last_error
    slack_sandbox.set_member("board-private", True)
    assert "being sent now" in refresh(world)
    drain()
    assert len(texts("board-private")) == 1 and SlackPost.objects.get(pk=post.pk).status == "posted"


def test_a_public_channel_that_needed_an_invitation_waits_for_the_app_to_be_a_member(world, tenant_a):
    """not_in_channel on a public channel: being listed is not enough, the app must be in it."""
    from integrations.slack.waiting import postable

    public = {"id": "C1", "name": "x", "is_private": False, "is_member": False}
    scopes = {"chat:write", "chat:write.public"}
    assert not postable(public, "not_in_channel", scopes)
    assert postable({**public, "is_member": True}, "not_in_channel", scopes)
    assert postable(public, "is_archived", scopes) and not postable(public, "is_archived", {"chat:write"})
    assert not postable(None, "channel_not_found", scopes)


def test_pointing_the_rule_at_another_channel_sends_it_there_and_not_to_the_old_one(waiting, world):
    big = RoutingRule.objects.get(name="Big invoices")
    response = world.post(
        f"/slack/rules/{big.pk}/",
        {
            "name": big.name,
            "enabled": "on",
            "event_types": ["invoice.create"],
            "comparison": "above",
            "threshold": "5000",
            "channel": slack_sandbox.channel_id("general"),
        },
        follow=True,
    )
    assert "1 event waiting for a channel was routed again with this change." in response.content.decode()
    drain()
    assert len(texts("general")) == 1 and texts("exec-alerts") == []
    old = SlackPost.objects.get(channel_name="exec-alerts")
    assert old.status == "skipped" and "no routing rule sends this event here" in old.last_error
    assert Delivery.objects.get(pk=waiting.pk).status == "succeeded"
    # Unarchiving the old channel later sends nothing there.
    slack_sandbox.set_archived("exec-alerts", False)
    refresh(world)
    drain()
    assert texts("exec-alerts") == [] and len(texts("general")) == 1 and len(texts("accounting")) == 1


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_disabling_or_deleting_the_rule_ends_the_wait(waiting, world, action):
    big = RoutingRule.objects.get(name="Big invoices")
    world.post(f"/slack/rules/{big.pk}/action/", {"action": action})
    drain()
    delivery = Delivery.objects.get(pk=waiting.pk)
    assert delivery.status == "succeeded" and delivery.last_error == ""  # posted to #accounting; nothing waits
    assert SlackPost.objects.get(channel_name="exec-alerts").status == "skipped"


def test_reconnecting_resumes_the_delivery_but_posts_nothing_while_the_channel_is_archived(waiting, world, tenant_a):
    conn = slack_connection(tenant_a)
    services.set_status(conn, Connection.Status.NEEDS_RECONNECT, reason="test")
    before = posts_to_slack()
    connect_slack(world, query=f"?connection={conn.pk}")
    drain()
    assert posts_to_slack() == before
    assert Delivery.objects.get(pk=waiting.pk).status == "waiting"
    assert SlackPost.objects.get(channel_name="exec-alerts").status == "waiting"


def test_post_again_on_a_waiting_post_tries_it_now(waiting, world):
    post = SlackPost.objects.get(channel_name="exec-alerts")
    slack_sandbox.set_archived("exec-alerts", False)
    world.post(f"/slack/posts/{post.pk}/replay/")
    drain()
    assert len(texts("exec-alerts")) == 1 and SlackPost.objects.get(pk=post.pk).status == "posted"


def test_a_post_reopened_while_its_delivery_runs_makes_the_delivery_run_again(waiting):
    post = SlackPost.objects.get(channel_name="exec-alerts")
    SlackPost.objects.filter(pk=post.pk).update(status="pending")
    with pytest.raises(RateLimited) as raised:
        _outcome(SlackPost.objects.filter(delivery=waiting))
    assert raised.value.code == "reopened" and raised.value.retry_after == 1.0
