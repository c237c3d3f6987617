"""The FreshBooks sandbox's OAuth: consent page, single-use codes and refresh tokens, /users/me."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import PROVIDER, issue_tokens
from integrations.sandbox import faults, tokens
from integrations.sandbox.models import SandboxFault, SandboxToken
from mlconnector.connections.oauth import redirect_uri
from tests.freshbooks.vendor import spec

AUTHORIZE = "/sandbox/freshbooks/auth/oauth/authorize"
TOKEN = "/sandbox/freshbooks/api/auth/oauth/token"
ME = "/sandbox/freshbooks/api/auth/api/v1/users/me"


@pytest.fixture
def demo(db):
    return seed_demo()


def authorize_url(**overrides) -> str:
    params = {
        "client_id": settings.FRESHBOOKS_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri(PROVIDER),
        "scope": "user:profile:read user:invoices:read",
        "state": "state-123",
        **overrides,
    }
    return f"{AUTHORIZE}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def consent(client: Client, decision: str = "allow", **overrides):
    return client.post(authorize_url(**overrides), {"identity": "5001", "decision": decision})


def code_from(response) -> str:
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def exchange(client: Client, code: str, **overrides):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(PROVIDER),
        "client_id": settings.FRESHBOOKS_CLIENT_ID,
        "client_secret": settings.FRESHBOOKS_CLIENT_SECRET,
        **overrides,
    }
    return client.post(TOKEN, urlencode(body), content_type="application/x-www-form-urlencoded")


def refresh(client: Client, refresh_token: str):
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "redirect_uri": redirect_uri(PROVIDER),
        "client_id": settings.FRESHBOOKS_CLIENT_ID,
        "client_secret": settings.FRESHBOOKS_CLIENT_SECRET,
    }
    return client.post(TOKEN, urlencode(body), content_type="application/x-www-form-urlencoded")


def test_it_renders_a_consent_page_naming_the_app_the_scopes_and_the_identities(demo, client):
    response = client.get(authorize_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "ml-connector" in html
    assert "Demo Owner" in html and "owner@demo-books.example" in html and "Demo Books Ltd (DEMO01)" in html
    assert "See your invoices" in html and "user:invoices:read" in html
    assert 'name="decision" value="allow"' in html and 'name="decision" value="deny"' in html
    assert re.search(r'<label for="identity-5001"', html)


def test_it_redirects_back_with_a_code_and_the_state_when_allowed(demo, client):
    response = consent(client)
    assert response["Location"].startswith(redirect_uri(PROVIDER) + "?")
    code = code_from(response)
    stored = SandboxToken.objects.get(kind="code")
    assert code not in stored.token_hash  # stored hashed
    assert stored.expires_at <= timezone.now() + timedelta(minutes=5)


def test_it_redirects_back_with_access_denied_when_denied(demo, client):
    response = consent(client, decision="deny")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"error": ["access_denied"], "state": ["state-123"]}
    assert not SandboxToken.objects.filter(kind="code").exists()


def test_it_protects_the_consent_buttons_with_csrf(demo):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(authorize_url())
    assert consent(browser).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = browser.post(authorize_url(), {"identity": "5001", "decision": "allow", "csrfmiddlewaretoken": token})
    assert code_from(response)


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "who-is-this"},
        {"client_id": None},
        {"redirect_uri": "https://attacker.example/callback"},
        {"redirect_uri": redirect_uri(PROVIDER) + "?next=/elsewhere"},
    ],
)
def test_it_shows_an_error_page_and_never_redirects_for_an_unknown_client_or_redirect_uri(demo, client, overrides):
    for response in (client.get(authorize_url(**overrides)), consent(client, **overrides)):
        assert response.status_code == 400
        assert "Location" not in response
    assert not SandboxToken.objects.exists()


def test_it_sends_bad_scopes_and_response_types_back_to_the_app(demo, client):
    bad_scope = client.get(authorize_url(scope="everything please"))
    assert parse_qs(urlsplit(bad_scope["Location"]).query)["error"] == ["invalid_scope"]
    bad_type = client.get(authorize_url(response_type="token"))
    assert parse_qs(urlsplit(bad_type["Location"]).query)["error"] == ["unsupported_response_type"]


def test_it_exchanges_a_code_once_for_tokens_shaped_like_freshbooks(demo, client):
    code = code_from(consent(client))
    response = exchange(client, code)
    assert response.status_code == 200
    body = response.json()
    assert set(spec("auth_token_response.json")) - {"id_token"} <= set(body)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 43200
    assert body["scope"] == "user:profile:read user:invoices:read"
    assert abs(body["created_at"] - timezone.now().timestamp()) < 60
    access = SandboxToken.objects.get(kind="access")
    assert timedelta(hours=11, minutes=59) < access.expires_at - timezone.now() <= timedelta(hours=12)
    assert SandboxToken.objects.get(kind="refresh").expires_at is None  # never expires, but single-use

    again = exchange(client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_it_accepts_json_and_multipart_token_requests(demo, client, encoding):
    code = code_from(consent(client))
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(PROVIDER),
        "client_id": settings.FRESHBOOKS_CLIENT_ID,
        "client_secret": settings.FRESHBOOKS_CLIENT_SECRET,
    }
    if encoding == "json":
        response = client.post(TOKEN, body, content_type="application/json")
    else:
        response = client.post(TOKEN, body)  # the test client's default is multipart
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_it_refuses_an_expired_code(demo, client):
    code = code_from(consent(client))
    SandboxToken.objects.filter(kind="code").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = exchange(client, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_it_refuses_a_code_sent_with_another_redirect_uri(demo, client):
    code = code_from(consent(client))
    response = exchange(client, code, redirect_uri="https://elsewhere.example/cb")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides", [{"client_secret": "wrong-secret-for-tests"}, {"client_secret": ""}, {"client_id": "nobody"}]
)
def test_it_refuses_bad_client_credentials_with_invalid_client(demo, client, overrides):
    code = code_from(consent(client))
    response = exchange(client, code, **overrides)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]


def test_it_refuses_an_unknown_grant_type(demo, client):
    response = exchange(client, "x", grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_it_rotates_refresh_tokens_and_refuses_a_used_one(demo, client):
    first = exchange(client, code_from(consent(client))).json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]

    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_it_serves_me_with_every_business_of_the_identity(db, client):
    demo = seed_demo(businesses=2)
    access = issue_tokens(demo.identity, None, "")["access_token"]
    response = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    me = response.json()["response"]
    assert "result" not in me
    assert set(spec("auth_me_response.json")["response"]) <= set(me)
    assert me["identity_id"] == 5001 and me["email"] == "owner@demo-books.example"
    businesses = [m["business"] for m in me["business_memberships"]]
    assert [b["account_id"] for b in businesses] == ["DEMO01", "DEMO02"]
    assert [m["role"] for m in me["business_memberships"]] == ["owner", "owner"]
    for business in businesses:
        assert {"id", "business_uuid", "account_id", "name", "date_format"} <= set(business)
        assert isinstance(business["id"], int)
    assert {r["accountid"] for r in me["roles"]} == {"DEMO01", "DEMO02"}


def test_it_seeds_idempotently(db):
    first = seed_demo(businesses=2)
    second = seed_demo(businesses=2)
    assert first.identity.pk == second.identity.pk
    assert [b.pk for b in first.businesses] == [b.pk for b in second.businesses]
    assert len(second.identity.data["memberships"]) == 2
    assert redirect_uri(PROVIDER) in tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID).redirect_uris


@pytest.mark.parametrize("header", ["", "Bearer not-a-real-token", "Basic abc"])
def test_it_answers_me_without_a_valid_token_with_401_unauthenticated(demo, client, header):
    response = client.get(ME, **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == 401
    assert response.json() == spec("auth_me_response__no_auth.json")


def test_it_refuses_expired_and_revoked_access_tokens(demo, client):
    issued = issue_tokens(demo.identity, None, "")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued['access_token']}"}
    assert client.get(ME, **auth).status_code == 200
    SandboxToken.objects.filter(kind="access").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(ME, **auth).status_code == 401

    fresh = issue_tokens(demo.identity, None, "")
    tokens.revoke_account(PROVIDER, demo.identity)
    assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {fresh['access_token']}").status_code == 401
    assert refresh(client, fresh["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_revokes_every_token_of_the_identity_through_a_revoke_fault(demo, client):
    issued = issue_tokens(demo.identity, None, "")
    faults.add(PROVIDER, SandboxFault.Kind.REVOKE, match="/users/me")
    response = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    assert response.status_code == 401
    assert refresh(client, issued["refresh_token"]).status_code == 400
