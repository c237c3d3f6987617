"""conversations.list in the Slack sandbox: cursor pagination, types, membership, limits, Tier 2 rate limit."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from integrations.slack import sandbox
from tests.slack.sandbox_helpers import call, install

PUBLIC = ["general", "accounting", "exec-alerts", "accounting-team", "random", "old-finance"]


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture
def token(client) -> str:
    return install(client)["access_token"]


def listing(client, token, **args) -> dict:
    return call(client, "conversations.list", token, data=args, get=True).json()


def walk(client, token, **args) -> tuple[list[str], list[str]]:
    names, cursors, cursor = [], [], ""
    while True:
        body = listing(client, token, cursor=cursor, **args) if cursor else listing(client, token, **args)
        assert body["ok"] is True
        names += [c["name"] for c in body["channels"]]
        cursor = body["response_metadata"]["next_cursor"]
        cursors.append(cursor)
        if cursor == "":
            return names, cursors


def test_it_walks_every_page_with_limit_2_and_ends_with_an_empty_cursor(client, token):
    names, cursors = walk(client, token, limit=2)
    assert names == PUBLIC
    assert len(cursors) == 3 and cursors[-1] == ""
    assert all(base64.b64decode(c) for c in cursors[:-1])  # opaque, base64 like Slack's


def test_it_lists_public_channels_by_default_and_private_ones_only_where_the_bot_is(client, token):
    assert [c["name"] for c in listing(client, token)["channels"]] == PUBLIC
    both = listing(client, token, types="public_channel,private_channel")["channels"]
    assert "board-private" not in [c["name"] for c in both]
    sandbox.set_member("board-private", True)
    private = listing(client, token, types="private_channel")["channels"]
    assert [(c["name"], c["is_private"], c["is_member"]) for c in private] == [("board-private", True, True)]


def test_private_channels_need_groups_read(client):
    token = install(client, scopes="channels:read,chat:write")["access_token"]
    sandbox.set_member("board-private", True)
    both = listing(client, token, types="public_channel,private_channel")["channels"]
    assert "board-private" not in [c["name"] for c in both]
    only_private = listing(client, token, types="private_channel")
    assert only_private["error"] == "missing_scope" and only_private["needed"] == "groups:read"


def test_it_can_leave_out_archived_channels(client, token):
    names = [c["name"] for c in listing(client, token, exclude_archived="true")["channels"]]
    assert "old-finance" not in names and "general" in names
    archived = next(c for c in listing(client, token)["channels"] if c["name"] == "old-finance")
    assert archived["is_archived"] is True


def test_the_last_page_has_the_next_cursor_key_with_an_empty_string(client, token):
    body = listing(client, token, limit=999)
    assert body["response_metadata"] == {"next_cursor": ""}


@pytest.mark.parametrize("limit", ["1000", "5000", "-1", "ten"])
def test_it_refuses_a_limit_of_1000_or_more_or_not_a_number(client, token, limit):
    assert listing(client, token, limit=limit) == {"ok": False, "error": "invalid_limit"}


@pytest.mark.parametrize("cursor", ["not base64!", base64.b64encode(b"channel:C0NOPE").decode()])
def test_it_refuses_an_unknown_cursor(client, token, cursor):
    assert listing(client, token, cursor=cursor) == {"ok": False, "error": "invalid_cursor"}


def test_it_refuses_unknown_types(client, token):
    assert listing(client, token, types="public_channel,wormhole") == {"ok": False, "error": "invalid_types"}


def test_channel_objects_have_slacks_fields(client, token):
    channel = listing(client, token, limit=1)["channels"][0]
    assert channel["id"] == sandbox.channel_id("general") == "C0GENERAL"
    for field in ("name", "is_channel", "is_private", "is_archived", "is_member", "num_members", "created"):
        assert field in channel


def test_it_is_rate_limited_at_tier_2(client, token, settings):
    settings.SANDBOX_SLACK_LIST_PER_MINUTE = 2
    assert listing(client, token)["ok"] is True
    assert listing(client, token)["ok"] is True
    response = call(client, "conversations.list", token, get=True)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json() == {"ok": False, "error": "ratelimited"}
