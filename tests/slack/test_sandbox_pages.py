"""The Slack sandbox's pages: the workspace page, a channel as a person reads it, and the controls."""

from __future__ import annotations

import importlib

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse

from integrations.sandbox.models import SandboxFault
from integrations.slack import sandbox
from tests.slack.sandbox_helpers import call, install

NAME = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons *"  # what a careful sender puts in mrkdwn


@pytest.fixture
def client(db, settings) -> Client:
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0
    return Client()


@pytest.fixture
def token(client) -> str:
    return install(client)["access_token"]


def post(client, token, **args) -> dict:
    body = call(client, "chat.postMessage", token, json=args).json()
    assert body["ok"] is True, body
    return body


def test_the_workspace_page_lists_channels_with_message_and_429_counts(client, token, settings):
    post(client, token, channel="#accounting", text="one")
    post(client, token, channel="#accounting", text="two")
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 30
    call(client, "chat.postMessage", token, json={"channel": "#general", "text": "a"})
    call(client, "chat.postMessage", token, json={"channel": "#general", "text": "b"})
    page = client.get(reverse("sandbox-slack-home"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sandbox Workspace" in html and "T0SANDBOX1" in html
    rows = {c["data"]["name"]: (c["messages"], c["limited"]) for c in page.context["channels"]}
    assert rows["accounting"] == (2, 0) and rows["general"] == (1, 1)
    assert reverse("sandbox-slack-channel", args=["C0ACCOUNTING"]) in html


def test_the_workspace_page_shows_at_most_a_tokens_last_four_characters(client, token):
    html = client.get(reverse("sandbox-slack-home")).content.decode()
    assert token not in html and token[-12:] not in html
    assert f"…{token[-4:]}" in html


def test_the_sandbox_index_links_to_the_slack_workspace(client):
    assert reverse("sandbox-slack-home") in client.get(reverse("sandbox-index")).content.decode()


def test_a_channel_page_shows_blocks_as_a_person_reads_them(client, token):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Invoice paid"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Acme Co.* paid _INV-1042_ <https://example.invalid/i/1|View invoice>"},
            "fields": [{"type": "mrkdwn", "text": "*Amount*\n$1,250.00"}, {"type": "mrkdwn", "text": "*Method*\nCard"}],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Synced from FreshBooks"}]},
    ]
    body = post(client, token, channel="#accounting", text="Invoice INV-1042 paid", blocks=blocks)
    html = client.get(reverse("sandbox-slack-channel", args=["C0ACCOUNTING"])).content.decode()
    assert "<h3>Invoice paid</h3>" in html
    assert '<span class="mrkdwn-bold">Acme Co.</span>' in html
    assert '<span class="mrkdwn-italic">INV-1042</span>' in html
    assert '<a href="https://example.invalid/i/1" class="" rel="noopener noreferrer nofollow">View invoice</a>' in html
    assert '<div class="fields"><div><span class="mrkdwn-bold">Amount</span><br><span class="">$1,250.00</span>' in html
    assert '<p class="context"><span class="">Synced from FreshBooks</span>' in html
    assert f"ts {body['ts']}" in html


def test_a_channel_page_shows_the_text_when_there_are_no_blocks(client, token):
    post(client, token, channel="#general", text="Payment of *$10* received")
    html = client.get(reverse("sandbox-slack-channel", args=["C0GENERAL"])).content.decode()
    assert '<span class="">Payment of </span><span class="mrkdwn-bold">$10</span>' in html


def test_a_channel_page_shows_hostile_names_as_text(client, token):
    section = {"type": "section", "text": {"type": "mrkdwn", "text": f"*Client:* {NAME}"}}
    post(client, token, channel="#general", text=f"Paid by {NAME}", blocks=[section])
    post(client, token, channel="#general", text="<javascript:alert(1)|click> <script>")
    html = client.get(reverse("sandbox-slack-channel", args=["C0GENERAL"])).content.decode()
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons *" in html
    assert 'href="javascript' not in html
    assert "&lt;javascript:alert(1)|click&gt;" in html


def test_the_controls_revoke_archive_inject_and_clear(client, token):
    url = reverse("sandbox-slack-action")
    post(client, token, channel="#general", text="hi")
    client.post(url, {"action": "archive", "channel": "C0RANDOM"})
    assert call(client, "chat.postMessage", token, json={"channel": "#random", "text": "x"}).json()["error"] == (
        "is_archived"
    )
    client.post(url, {"action": "unarchive", "channel": "C0RANDOM"})
    assert call(client, "chat.postMessage", token, json={"channel": "#random", "text": "x"}).json()["ok"] is True
    client.post(url, {"action": "inject-429"})
    client.post(url, {"action": "inject-500"})
    assert SandboxFault.objects.filter(provider="slack").count() == 2
    assert call(client, "chat.postMessage", token, json={"channel": "#general", "text": "x"}).status_code == 429
    assert call(client, "chat.postMessage", token, json={"channel": "#general", "text": "x"}).status_code == 500
    back = client.post(url, {"action": "clear", "next": "/sandbox/slack/channels/C0GENERAL/"})
    assert back.status_code == 302 and back["Location"] == "/sandbox/slack/channels/C0GENERAL/"
    assert sandbox.messages("general") == []
    client.post(url, {"action": "revoke"})
    assert call(client, "auth.test", token).json()["error"] == "token_revoked"


def test_the_workspace_page_can_invite_and_remove_the_bot_per_channel(client, token):
    home = reverse("sandbox-slack-home")
    html = client.get(home).content.decode()
    assert 'aria-label="Invite the bot to board-private"' in html
    assert 'aria-label="Remove the bot from accounting"' in html
    assert 'aria-label="Invite the bot to old-finance"' not in html  # archived: unarchive it first
    client.post(reverse("sandbox-slack-action"), {"action": "remove", "channel": "C0ACCOUNTING"})
    assert call(client, "chat.postMessage", token, json={"channel": "C0BOARDPRIV", "text": "x"}).json()["error"] == (
        "not_in_channel"
    )
    client.post(reverse("sandbox-slack-action"), {"action": "invite", "channel": "C0BOARDPRIV"})
    assert call(client, "chat.postMessage", token, json={"channel": "C0BOARDPRIV", "text": "x"}).json()["ok"] is True
    assert 'aria-label="Invite the bot to accounting"' in client.get(home).content.decode()


def test_the_controls_need_a_csrf_token_and_post(db):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("sandbox-slack-action"), {"action": "revoke"}).status_code == 403
    assert strict.get(reverse("sandbox-slack-action")).status_code == 405


def test_the_controls_refuse_an_unknown_action_and_an_outside_next(client, token):
    url = reverse("sandbox-slack-action")
    assert client.post(url, {"action": "explode"})["Location"] == reverse("sandbox-slack-home")
    assert client.post(url, {"action": "clear", "next": "https://evil.example/"})["Location"] == reverse(
        "sandbox-slack-home"
    )


def test_the_sandbox_is_not_mounted_when_it_is_off(db):
    import mlconnector.urls

    try:
        with override_settings(MLCONNECTOR_SANDBOX=False):
            importlib.reload(mlconnector.urls)
            clear_url_caches()
            with pytest.raises(NoReverseMatch):
                reverse("sandbox-slack-home")
            assert Client().get("/sandbox/slack/").status_code == 404
    finally:
        importlib.reload(mlconnector.urls)
        clear_url_caches()
    assert reverse("sandbox-slack-home") == "/sandbox/slack/"
