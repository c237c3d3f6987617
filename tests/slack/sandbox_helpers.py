"""Helpers for the Slack sandbox's tests: install the app through the consent page, call the Web API."""

from __future__ import annotations

import json as jsonlib
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.test import Client

from integrations.slack import sandbox
from mlconnector.connections.oauth import redirect_uri

AUTHORIZE = "/sandbox/slack/oauth/v2/authorize"
API = "/sandbox/slack/api/"
SCOPES = "chat:write,chat:write.public,channels:read,groups:read,channels:join"


def authorize_url(**overrides) -> str:
    params = {
        "client_id": settings.SLACK_CLIENT_ID,
        "scope": SCOPES,
        "user_scope": "",
        "redirect_uri": redirect_uri("slack"),
        "state": "state-123",
        **overrides,
    }
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def consent(client: Client, decision: str = "allow", **overrides):
    return client.post(authorize_url(**overrides), {"decision": decision})


def query_of(response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query, keep_blank_values=True)


def code_for(client: Client, **overrides) -> str:
    return query_of(consent(client, **overrides))["code"][0]


def exchange(client: Client, code: str, **overrides) -> dict:
    body = {
        "code": code,
        "redirect_uri": redirect_uri("slack"),
        "client_id": settings.SLACK_CLIENT_ID,
        "client_secret": settings.SLACK_CLIENT_SECRET,
        **overrides,
    }
    response = client.post(API + "oauth.v2.access", {k: v for k, v in body.items() if v is not None})
    assert response.status_code == 200
    return response.json()


def install(client: Client | None = None, scopes: str = SCOPES) -> dict:
    """The app installed through the consent page: the oauth.v2.access body (access_token, ...)."""
    client = client or Client()
    sandbox.ensure_workspace()
    body = exchange(client, code_for(client, scope=scopes))
    assert body["ok"] is True, body
    return body


def call(client: Client, method: str, token: str | None = None, *, json=None, data=None, get=False):
    """A Web API call with the token as a Bearer header: JSON body, form body or GET query string."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if get:
        return client.get(API + method, data or {}, **headers)
    if json is not None:
        return client.post(API + method, jsonlib.dumps(json), content_type="application/json; charset=utf-8", **headers)
    return client.post(API + method, data or {}, **headers)
