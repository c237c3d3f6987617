"""chat.postMessage's per-channel pacing in the Slack sandbox: HTTP 429, Retry-After, counters, burst."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.sandbox import faults
from integrations.slack import sandbox
from tests.slack.sandbox_helpers import call, install


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture
def token(client, settings) -> str:
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 30.0  # long enough that no test run crosses it
    return install(client)["access_token"]


def post(client, token, channel: str):
    return call(client, "chat.postMessage", token, json={"channel": channel, "text": "hello"})


def test_a_second_post_to_one_channel_within_the_interval_is_a_429(client, token):
    assert post(client, token, "#general").json()["ok"] is True
    second = post(client, token, "#general")
    assert second.status_code == 429
    assert second.json() == {"ok": False, "error": "ratelimited"}
    assert 1 <= int(second["Retry-After"]) <= 30
    assert len(sandbox.messages("general")) == 1


def test_channels_are_paced_separately(client, token):
    assert post(client, token, "#general").status_code == 200
    assert post(client, token, "#accounting").status_code == 200
    assert post(client, token, "#exec-alerts").status_code == 200


def test_it_counts_the_429s_it_serves_per_channel(client, token):
    post(client, token, "#general")
    post(client, token, "#general")
    post(client, token, "#general")
    post(client, token, "#accounting")
    assert sandbox.rate_limited_count("general") == 2
    assert sandbox.rate_limited_count("C0ACCOUNTING") == 0


def test_an_injected_429_counts_for_its_channel_too(client, token):
    faults.add("slack", match="/api/chat.postMessage", status=429, body={"ok": False, "error": "ratelimited"})
    assert post(client, token, "#random").status_code == 429
    assert sandbox.rate_limited_count("random") == 1


def test_retry_after_is_whole_seconds_and_at_least_one(client, token, settings):
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0.2
    post(client, token, "#general")
    assert post(client, token, "#general")["Retry-After"] == "1"


def test_a_burst_allowance_lets_that_many_posts_through_back_to_back(client, token, settings):
    settings.SANDBOX_SLACK_CHANNEL_BURST = 3
    assert [post(client, token, "#general").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_failed_posts_do_not_use_up_the_channel(client, token):
    assert call(client, "chat.postMessage", token, json={"channel": "#general"}).json()["error"] == "no_text"
    assert post(client, token, "#general").status_code == 200


def test_reset_forgets_messages_and_counters(client, token):
    post(client, token, "#general")
    post(client, token, "#general")
    sandbox.reset()
    assert sandbox.messages("general") == [] and sandbox.rate_limited_count("general") == 0
    assert post(client, token, "#general").status_code == 200
