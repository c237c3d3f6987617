"""The Monday sandbox's OAuth: consent page, code exchange, refresh (opt-in), errors, and scoped tokens."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings

from integrations.monday import sandbox
from tests.monday.test_sandbox_api import call, codes

AUTHORIZE = "/sandbox/monday/auth/oauth2/authorize"
TOKEN = "/sandbox/monday/auth/oauth2/token"
REDIRECT = "http://testserver/connections/monday/callback/"


@pytest.fixture(autouse=True)
def fresh(db):
    sandbox.reset()


def authorize_url(**overrides) -> str:
    params = {"client_id": settings.MONDAY_CLIENT_ID, "redirect_uri": REDIRECT, "state": "st-1", **overrides}
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def code_from(client, **overrides) -> str:
    r = client.post(authorize_url(**overrides), {"decision": "authorize"})
    assert r.status_code == 302
    query = parse_qs(urlsplit(r["Location"]).query)
    assert r["Location"].startswith(REDIRECT)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def exchange(client, code, as_json=True, **overrides):
    body = {
        "client_id": settings.MONDAY_CLIENT_ID,
        "client_secret": settings.MONDAY_CLIENT_SECRET,
        "code": code,
        "redirect_uri": REDIRECT,
        **overrides,
    }
    if as_json:
        return client.post(TOKEN, json.dumps(body), content_type="application/json")
    return client.post(TOKEN, urlencode(body), content_type="application/x-www-form-urlencoded")


def test_consent_page_has_authorize_and_cancel_buttons(client):
    r = client.get(authorize_url(scope="me:read boards:read"))
    assert r.status_code == 200
    html = r.content.decode()
    assert '<button type="submit" name="decision" value="authorize"' in html
    assert '<button type="submit" name="decision" value="cancel">Cancel</button>' in html
    assert "boards:read" in html and "ML Connector Demo" in html


def test_cancel_redirects_with_access_denied(client):
    r = client.post(authorize_url(), {"decision": "cancel"})
    assert r.status_code == 302
    query = parse_qs(urlsplit(r["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-1"]
    assert "code" not in query


@pytest.mark.parametrize("as_json", [True, False])
def test_code_exchange_gives_a_non_expiring_bearer_token_that_works(client, as_json):
    code = code_from(client, scope="me:read boards:read boards:write")
    r = exchange(client, code, as_json=as_json)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "me:read boards:read boards:write"
    assert call(client, body["access_token"], "{ me { id } }").json()["data"]["me"]["id"] == "61803398"


def test_code_is_single_use_and_bound_to_redirect_uri(client):
    code = code_from(client)
    assert exchange(client, code, redirect_uri="http://evil.test/cb").json()["error"] == "invalid_grant"
    code = code_from(client)
    assert exchange(client, code).status_code == 200
    r = exchange(client, code)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(client):
    r = exchange(client, code_from(client), client_secret="wrong")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "error_description" in r.json()


def test_unknown_scope_is_invalid_scope(client):
    r = client.get(authorize_url(scope="boards:read boards:destroy"))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_scope", "error_description": "Invalid scope param"}


def test_unknown_client_gets_an_error_page_not_a_redirect(client):
    r = client.get(authorize_url(client_id="nope"))
    assert r.status_code == 400
    assert "unknown client_id" in r.content.decode()


def test_refresh_flow_when_enabled(client, settings):
    settings.SANDBOX_MONDAY_OAUTH_REFRESH = True
    body = exchange(client, code_from(client)).json()
    assert body["expires_in"] == 3600 and body["refresh_token"]
    grant = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    renewed = exchange(client, None, **grant)
    assert renewed.status_code == 200
    assert renewed.json()["access_token"] != body["access_token"]
    assert exchange(client, None, **grant).json()["error"] == "invalid_grant"  # refresh tokens are single-use


def test_refresh_grant_refused_in_legacy_mode(client):
    r = exchange(client, None, grant_type="refresh_token", refresh_token="x")
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_missing_scope_is_missing_required_permissions(client):
    token = exchange(client, code_from(client, scope="me:read boards:read")).json()["access_token"]
    board = sandbox.board("Invoices")["id"]
    q = 'mutation ($b: ID!) { create_item(board_id: $b, item_name: "x") { id } }'
    r = call(client, token, q, {"b": board})
    assert r.status_code == 200
    assert codes(r) == ["missingRequiredPermissions"]
    assert r.json()["errors"][0]["extensions"]["status_code"] == 403
    assert sandbox.items("Invoices") == []


def test_revoked_tokens_are_401(client):
    token = exchange(client, code_from(client)).json()["access_token"]
    sandbox.inject_revoke()
    assert call(client, token, "{ me { id } }").status_code == 401


def test_personal_token_issuance(client):
    token = sandbox.issue_personal_token()
    assert token != sandbox.issue_personal_token()
    r = call(client, token, "{ me { email } }")
    assert r.json()["data"]["me"]["email"] == "sandy@sandbox.monday.test"
