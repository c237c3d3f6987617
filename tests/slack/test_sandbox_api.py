"""The Slack sandbox's Web API envelopes and errors: auth, scopes, channels, blocks, argument schema."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from integrations.slack import sandbox
from integrations.slack.sandbox.checks import method_spec
from tests.slack.sandbox_helpers import call, install

HEADER = {"type": "header", "text": {"type": "plain_text", "text": "Invoice paid"}}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme Co.* paid *INV-1042*"}}


@pytest.fixture(autouse=True)
def no_pacing(settings):
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0  # rate limits have their own tests


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture
def token(client) -> str:
    return install(client)["access_token"]


def post(client, token, **args):
    return call(client, "chat.postMessage", token, json=args).json()


def test_auth_test_answers_with_the_bot_identity(client, token):
    body = call(client, "auth.test", token).json()
    assert body["ok"] is True
    assert {k: body[k] for k in ("team", "team_id", "user_id", "bot_id", "app_id", "is_enterprise_install")} == {
        "team": "Sandbox Workspace",
        "team_id": "T0SANDBOX1",
        "user_id": "U0SANDBOXBOT",
        "bot_id": "B0SANDBOXBOT",
        "app_id": "A0SANDBOXAPP",
        "is_enterprise_install": False,
    }
    assert body["url"].startswith("https://") and body["user"]


def test_auth_test_answers_get_and_a_token_argument(client, token):
    assert call(client, "auth.test", data={"token": token}, get=True).json()["ok"] is True
    assert call(client, "auth.test", data={"token": token}).json()["ok"] is True


def test_it_says_not_authed_without_a_token_and_invalid_auth_for_an_unknown_one(client, db):
    assert call(client, "auth.test").json() == {"ok": False, "error": "not_authed"}
    response = call(client, "auth.test", "xoxb-nobody")
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": "invalid_auth"}


def test_it_says_token_revoked_after_the_workspace_revokes_it(client, token):
    assert sandbox.revoke_tokens() == 2  # the access token and its refresh token
    assert call(client, "auth.test", token).json() == {"ok": False, "error": "token_revoked"}


def test_a_revoke_fault_revokes_the_callers_workspace(client, token):
    faults.add("slack", SandboxFault.Kind.REVOKE, match="/api/auth.test")
    assert call(client, "auth.test", token).json() == {"ok": False, "error": "token_revoked"}


def test_it_says_account_inactive_for_a_deactivated_workspace(client, token):
    sandbox.set_inactive(True)
    assert post(client, token, channel="#general", text="hi") == {"ok": False, "error": "account_inactive"}


def test_it_reports_a_missing_scope_with_needed_and_provided(client):
    token = install(client, scopes="channels:read")["access_token"]
    body = post(client, token, channel="#general", text="hi")
    assert body == {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "channels:read"}


def test_an_injected_500_comes_back_as_is(client, token):
    faults.add("slack", match="/api/chat.postMessage", status=500, body={"ok": False, "error": "internal_error"})
    response = call(client, "chat.postMessage", token, json={"channel": "#general", "text": "hi"})
    assert response.status_code == 500
    assert sandbox.messages("general") == []


def test_it_posts_a_message_with_blocks_from_a_json_body(client, token):
    body = post(client, token, channel="C0ACCOUNTING", text="Invoice paid", blocks=[HEADER, SECTION])
    assert body["ok"] is True and body["channel"] == "C0ACCOUNTING"
    assert body["message"]["ts"] == body["ts"] and body["message"]["blocks"] == [HEADER, SECTION]
    assert [(m["ts"], m["text"], m["blocks"]) for m in sandbox.messages("accounting")] == [
        (body["ts"], "Invoice paid", [HEADER, SECTION])
    ]


def test_it_takes_blocks_as_a_json_string_in_a_form_body(client, token):
    data = {"channel": "#accounting", "text": "Invoice paid", "blocks": json.dumps([HEADER]), "unfurl_links": "false"}
    body = call(client, "chat.postMessage", token, data=data).json()
    assert body["ok"] is True
    assert sandbox.messages("C0ACCOUNTING")[0]["blocks"] == [HEADER]


def test_form_blocks_that_are_not_json_are_invalid_blocks_format(client, token):
    data = {"channel": "#accounting", "text": "x", "blocks": "[{not json"}
    assert call(client, "chat.postMessage", token, data=data).json() == {"ok": False, "error": "invalid_blocks_format"}


def test_timestamps_are_unique_and_increasing_strings(client, token):
    stamps = [post(client, token, channel="#general", text=str(i))["ts"] for i in range(5)]
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)
    assert all(isinstance(ts, str) and len(ts.split(".")[1]) == 6 for ts in stamps)


def test_it_says_channel_not_found_for_an_unknown_channel(client, token):
    assert post(client, token, channel="C0NOPE", text="hi") == {"ok": False, "error": "channel_not_found"}


def test_it_says_not_in_channel_for_a_private_channel_the_bot_is_not_in(client, token):
    assert post(client, token, channel="#board-private", text="hi") == {"ok": False, "error": "not_in_channel"}


def test_a_public_channel_needs_membership_without_chat_write_public(client):
    token = install(client, scopes="chat:write,channels:read,channels:join")["access_token"]
    assert post(client, token, channel="#exec-alerts", text="hi") == {"ok": False, "error": "not_in_channel"}
    assert post(client, token, channel="#general", text="hi")["ok"] is True  # the bot is in #general
    joined = call(client, "conversations.join", token, data={"channel": sandbox.channel_id("exec-alerts")}).json()
    assert joined["ok"] is True and joined["channel"]["is_member"] is True
    assert post(client, token, channel="#exec-alerts", text="hi")["ok"] is True


def test_conversations_join_needs_channels_join_and_refuses_archived_channels(client):
    token = install(client, scopes="chat:write")["access_token"]
    body = call(client, "conversations.join", token, data={"channel": "C0RANDOM"}).json()
    assert body["error"] == "missing_scope" and body["needed"] == "channels:join"
    token = install(client)["access_token"]
    archived = call(client, "conversations.join", token, data={"channel": "C0OLDFINANCE"}).json()
    assert archived == {"ok": False, "error": "is_archived"}


def test_it_says_is_archived_for_an_archived_channel(client, token):
    assert post(client, token, channel="#old-finance", text="hi") == {"ok": False, "error": "is_archived"}
    sandbox.set_archived("accounting", True)
    assert post(client, token, channel="#accounting", text="hi") == {"ok": False, "error": "is_archived"}


def test_it_says_no_text_without_text_or_blocks(client, token):
    assert post(client, token, channel="#general") == {"ok": False, "error": "no_text"}
    assert post(client, token, channel="#general", text="", blocks=[]) == {"ok": False, "error": "no_text"}


@pytest.mark.parametrize(
    "blocks, pointer",
    [
        ([{"type": "divider"}] * 51, "/blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "/blocks/0/text/text"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text"),
        ([{"type": "carousel"}], "/blocks/0/type"),
        ([{"type": "section"}], "/blocks/0"),
    ],
)
def test_it_refuses_invalid_blocks_with_a_pointer_to_the_problem(client, token, blocks, pointer):
    body = post(client, token, channel="#general", text="fallback", blocks=blocks)
    assert body["ok"] is False and body["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in e for e in body["errors"])
    assert body["response_metadata"]["messages"] == body["errors"]
    assert sandbox.messages("general") == []


def test_it_refuses_blocks_over_the_size_limit(client, token):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5
    assert post(client, token, channel="#general", text="f", blocks=blocks) == {
        "ok": False,
        "error": "msg_blocks_too_long",
    }


def test_it_truncates_text_over_forty_thousand_characters_with_a_warning(client, token):
    body = post(client, token, channel="#general", text="y" * 40_010)
    assert body["ok"] is True
    assert body["warning"] == "message_truncated"
    assert body["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(sandbox.messages("general")[0]["text"]) == 40_000


def test_arguments_are_checked_against_slacks_own_schema(client, token):
    assert method_spec("chat.postMessage")["args"]["properties"]["channel"]["type"] == "string"
    body = post(client, token, channel=123, text="hi", surprise="yes")
    assert body["ok"] is False and body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] unknown field: surprise",
        "[ERROR] must be a string [json-pointer:/channel]",
    ]


def test_a_missing_channel_is_an_invalid_argument(client, token):
    body = post(client, token, text="hi")
    assert body == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: channel"]},
    }


def test_an_unknown_method_is_unknown_method(client, token):
    response = call(client, "chat.scheduleMessage", token, json={})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "unknown_method", "req_method": "chat.scheduleMessage"}


def test_post_only_methods_refuse_get(client, token):
    assert call(client, "chat.postMessage", token, data={"channel": "#general"}, get=True).status_code == 405
