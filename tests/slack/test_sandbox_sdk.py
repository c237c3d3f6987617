"""The official Slack SDK (slack_sdk), pointed at the sandbox, works unchanged over a real socket.

Slack wrote the SDK against the real API, so it is the outside witness that the fake speaks Slack's
protocol (Basic client auth, JSON bodies for chat.postMessage, ok:false envelopes, 429 handling),
not just what our own client expects. Hence live_server and a transactional database.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import HeaderBlock, SectionBlock
from slack_sdk.oauth import AuthorizeUrlGenerator

from integrations.sandbox import tokens
from integrations.slack import sandbox

REDIRECT = "https://sdk-app.example/slack/callback"
SCOPES = ["chat:write", "chat:write.public", "channels:read", "groups:read"]


@pytest.fixture
def api_url(live_server, transactional_db, settings) -> str:
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 30.0
    sandbox.ensure_workspace()
    app = tokens.app_for(sandbox.PROVIDER, settings.SLACK_CLIENT_ID)
    app.redirect_uris = [*app.redirect_uris, REDIRECT]
    app.save()
    return f"{live_server.url}/sandbox/slack/api/"


def click_allow(url: str) -> str:
    """What a person does in a browser: open the consent page, press Allow; returns the code."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    allowed = browser.post(url, data={"csrfmiddlewaretoken": csrf, "decision": "allow"}, allow_redirects=False)
    assert allowed.status_code == 302
    location = urlsplit(allowed.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["sdk-state"]
    return query["code"][0]


def installed(live_server, api_url: str) -> dict:
    generator = AuthorizeUrlGenerator(
        client_id=settings.SLACK_CLIENT_ID,
        scopes=SCOPES,
        redirect_uri=REDIRECT,
        authorization_url=f"{live_server.url}/sandbox/slack/oauth/v2/authorize",
    )
    code = click_allow(generator.generate(state="sdk-state"))
    return (
        WebClient(base_url=api_url)
        .oauth_v2_access(
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            code=code,
            redirect_uri=REDIRECT,
        )
        .data
    )


def test_the_sdk_installs_the_app_and_rotates_its_refresh_token(live_server, api_url):
    body = installed(live_server, api_url)
    assert body["access_token"].startswith("xoxe.xoxb-1-") and body["expires_in"] == 43200
    oauth = WebClient(base_url=api_url)
    renewed = oauth.oauth_v2_access(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
    )
    assert renewed["refresh_token"] != body["refresh_token"]
    with pytest.raises(SlackApiError) as spent:
        oauth.oauth_v2_access(
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=body["refresh_token"],
        )
    assert spent.value.response["error"] == "invalid_refresh_token"


def test_the_sdk_tests_auth_lists_channels_and_posts_blocks(live_server, api_url):
    client = WebClient(base_url=api_url, token=installed(live_server, api_url)["access_token"])
    me = client.auth_test()
    assert me["team_id"] == "T0SANDBOX1" and me["bot_id"] == "B0SANDBOXBOT"

    names, cursors = [], []
    for page in client.conversations_list(limit=2, exclude_archived=True):  # the SDK follows next_cursor
        names += [c["name"] for c in page["channels"]]
        cursors.append(page["response_metadata"]["next_cursor"])
    assert names == ["general", "accounting", "exec-alerts", "accounting-team", "random"]
    assert len(cursors) == 3 and cursors[-1] == ""

    posted = client.chat_postMessage(
        channel=sandbox.channel_id("accounting"),
        text="Invoice INV-1042 paid",
        blocks=[HeaderBlock(text="Invoice paid"), SectionBlock(text="*Acme Co.* paid *INV-1042*")],
    )
    assert posted["ok"] is True and posted["channel"] == "C0ACCOUNTING"
    stored = sandbox.messages("accounting")
    assert [m["ts"] for m in stored] == [posted["ts"]]
    assert stored[0]["blocks"][0]["text"]["text"] == "Invoice paid"


def test_the_sdk_raises_slack_api_error_for_ok_false_and_for_a_429(live_server, api_url):
    client = WebClient(base_url=api_url, token=installed(live_server, api_url)["access_token"])
    with pytest.raises(SlackApiError) as missing:
        client.chat_postMessage(channel="C0NOPE", text="hello")
    assert missing.value.response.status_code == 200
    assert missing.value.response["error"] == "channel_not_found"

    client.chat_postMessage(channel="#general", text="first")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="#general", text="second")
    assert limited.value.response.status_code == 429
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    assert limited.value.response["error"] == "ratelimited"
    assert sandbox.rate_limited_count("general") == 1

    with pytest.raises(SlackApiError) as unauthenticated:
        WebClient(base_url=api_url, token="xoxb-not-a-token").auth_test()
    assert unauthenticated.value.response["error"] == "invalid_auth"
