"""The Slack sandbox's OAuth v2: consent page, single-use codes, client checks, token rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from integrations.sandbox.models import SandboxToken
from integrations.slack import sandbox
from integrations.slack.sandbox.state import ACCESS_TTL
from tests.slack.sandbox_helpers import authorize_url, call, code_for, consent, exchange, install, query_of


@pytest.fixture
def client(db) -> Client:
    sandbox.ensure_workspace()
    return Client()


def test_it_shows_a_consent_page_with_allow_and_cancel_buttons(client):
    page = client.get(authorize_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert '<button type="submit" name="decision" value="allow" class="primary">Allow</button>' in html
    assert '<button type="submit" name="decision" value="cancel">Cancel</button>' in html
    assert "Sandbox Workspace" in html and "<code>chat:write</code>" in html


def test_it_sends_a_code_and_echoes_the_state_on_allow(client):
    query = query_of(consent(client))
    assert query["state"] == ["state-123"]
    assert query["code"][0]


def test_it_sends_access_denied_with_the_state_on_cancel(client):
    query = query_of(consent(client, decision="cancel", state=""))
    assert query == {"error": ["access_denied"], "state": [""]}


def test_it_shows_an_error_page_not_a_redirect_for_an_unknown_client(client):
    page = client.get(authorize_url(client_id="someone-else"))
    assert page.status_code == 400
    assert "Invalid client_id" in page.content.decode()
    assert consent(client, client_id="someone-else").status_code == 400


def test_it_refuses_to_redirect_to_an_unregistered_uri(client):
    assert client.get(authorize_url(redirect_uri="https://evil.example/cb")).status_code == 400


def test_it_exchanges_a_code_for_a_rotating_bot_token(client):
    body = exchange(client, code_for(client))
    assert body["ok"] is True
    assert body["access_token"].startswith("xoxe.xoxb-1-")
    assert body["refresh_token"].startswith("xoxe-1-")
    assert body["expires_in"] == 43200
    assert body["token_type"] == "bot"
    assert body["scope"] == "chat:write,chat:write.public,channels:read,groups:read,channels:join"
    assert body["team"] == {"id": "T0SANDBOX1", "name": "Sandbox Workspace"}
    assert body["enterprise"] is None and body["is_enterprise_install"] is False
    assert body["authed_user"]["id"] and body["bot_user_id"] and body["app_id"]


def test_it_stores_tokens_as_hashes_with_their_scopes(client):
    body = exchange(client, code_for(client))
    stored = SandboxToken.objects.filter(provider="slack", kind="access").get()
    assert body["access_token"] not in (stored.token_hash, str(stored.data))
    assert stored.scopes == body["scope"]


def test_it_issues_long_lived_tokens_when_rotation_is_off(client, settings):
    settings.SANDBOX_SLACK_TOKEN_ROTATION = False
    body = exchange(client, code_for(client))
    assert body["access_token"].startswith("xoxb-")
    assert "refresh_token" not in body and "expires_in" not in body


def test_it_accepts_client_credentials_by_http_basic(client):
    import base64

    code = code_for(client)
    basic = base64.b64encode(f"{settings.SLACK_CLIENT_ID}:{settings.SLACK_CLIENT_SECRET}".encode()).decode()
    response = client.post(
        "/sandbox/slack/api/oauth.v2.access",
        {"code": code, "redirect_uri": "http://testserver/connections/slack/callback/"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.json()["ok"] is True


def test_it_accepts_a_json_body(client):
    response = client.post(
        "/sandbox/slack/api/oauth.v2.access",
        {
            "code": code_for(client),
            "redirect_uri": "http://testserver/connections/slack/callback/",
            "client_id": settings.SLACK_CLIENT_ID,
            "client_secret": settings.SLACK_CLIENT_SECRET,
        },
        content_type="application/json; charset=utf-8",
    )
    assert response.json()["ok"] is True


def test_a_code_works_once(client):
    code = code_for(client)
    assert exchange(client, code)["ok"] is True
    assert exchange(client, code) == {"ok": False, "error": "invalid_code"}


def test_it_refuses_an_unknown_code(client):
    assert exchange(client, "not-a-code") == {"ok": False, "error": "invalid_code"}


def test_it_refuses_a_redirect_uri_other_than_the_authorized_one(client):
    code = code_for(client)
    assert exchange(client, code, redirect_uri="http://testserver/elsewhere/") == {
        "ok": False,
        "error": "bad_redirect_uri",
    }
    assert exchange(client, code)["ok"] is True  # the mistake did not burn the code


def test_it_refuses_a_wrong_secret_and_an_unknown_client(client):
    code = code_for(client)
    assert exchange(client, code, client_secret="wrong") == {"ok": False, "error": "bad_client_secret"}
    assert exchange(client, code, client_id="nobody") == {"ok": False, "error": "invalid_client_id"}


def test_it_refuses_an_unknown_grant_type(client):
    assert exchange(client, "x", grant_type="password") == {"ok": False, "error": "invalid_grant_type"}


def test_it_rotates_refresh_tokens_and_refuses_a_spent_one(client):
    first = install(client)
    refreshed = exchange(client, None, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed["ok"] is True
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    assert call(client, "auth.test", refreshed["access_token"]).json()["ok"] is True
    again = exchange(client, None, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again == {"ok": False, "error": "invalid_refresh_token"}
    assert sandbox.spent_refresh_tokens() == 1


def test_an_expired_rotating_token_gets_token_expired(client):
    body = install(client)
    SandboxToken.objects.filter(provider="slack", kind="access").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert call(client, "auth.test", body["access_token"]).json() == {"ok": False, "error": "token_expired"}


def test_access_tokens_live_twelve_hours(client):
    before = timezone.now()
    install(client)
    token = SandboxToken.objects.get(provider="slack", kind="access")
    assert abs((token.expires_at - before).total_seconds() - ACCESS_TTL) < 60
