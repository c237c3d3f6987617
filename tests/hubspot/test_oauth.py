"""Connecting HubSpot by signing in to a public app (OAuth) through the sandbox's consent page, and the
30-minute access tokens refreshed once, through the core's serialised refresh, even by two workers."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.db import connection as db
from django.db import connections
from django.test import Client
from django.utils import timezone
from jsonschema import Draft7Validator

from integrations.hubspot import sandbox
from integrations.hubspot.sandbox import oauth as sandbox_oauth
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxToken
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.http import Unauthorized, Unavailable
from tests.conftest import client_for
from tests.hubspot.helpers import connect_hubspot, connect_hubspot_oauth

HUB = str(sandbox.DEMO_HUB_ID)
TOKEN_URL = "/sandbox/hubspot/api/oauth/v1/token"


@pytest.fixture(autouse=True)
def portal(transactional_db):
    sandbox.reset()


def _oauth_connection(admin, **extra) -> Connection:
    page = connect_hubspot_oauth(client_for(admin), **extra)
    assert page.status_code == 200, page.content[:2000]
    return Connection.objects.get(provider="hubspot", status="active")


def _raw_credentials(conn: Connection) -> bytes:
    with db.cursor() as cur:
        cur.execute("SELECT credentials FROM connections_connection WHERE id = %s", [conn.pk])
        value = cur.fetchone()[0]
    return bytes(value) if not isinstance(value, str) else value.encode()


def test_signing_in_connects_the_hub_stores_the_tokens_encrypted_and_makes_the_freshbooks_properties(admin_a):
    client = client_for(admin_a)
    start = client.get("/connections/hubspot/connect/")
    query = parse_qs(urlsplit(start["Location"]).query)
    # What HubSpot's authorize URL takes: the app, required and optional scopes, where to come back, state.
    assert query["client_id"] == ["sandbox-hubspot-client"] and query["state"][0]
    assert "crm.objects.contacts.write" in query["scope"][0].split()
    assert "crm.objects.invoices.write" in query["optional_scope"][0].split()
    assert query["redirect_uri"] == ["http://testserver/connections/hubspot/callback/"]

    page = connect_hubspot_oauth(client)
    assert b"HubSpot connected: HubSpot hub" in page.content
    conn = Connection.objects.get(provider="hubspot")
    assert conn.status == "active" and conn.external_account_id == HUB
    assert page.redirect_chain[-1][0] == f"/connections/{conn.pk}/"
    creds = conn.secrets()
    assert creds["kind"] == "oauth" and creds["access_token"].startswith("oauth-na1-") and creds["refresh_token"]
    # expires_in (1800 in the sandbox) is used, not assumed.
    assert timezone.now() + timedelta(minutes=25) < conn.token_expires_at <= timezone.now() + timedelta(minutes=31)
    raw = _raw_credentials(conn)
    assert creds["access_token"].encode() not in raw and creds["refresh_token"].encode() not in raw
    assert creds["access_token"] not in page.content.decode() and creds["refresh_token"] not in page.content.decode()
    assert conn.config["time_zone"] == "America/New_York" and conn.config["schedule"] == {"mode": "realtime"}
    from integrations.hubspot.sandbox import objects

    names = set(objects.properties(sandbox.portal(), objects.TYPES["contacts"]))
    assert {"freshbooks_client_id", "freshbooks_outstanding"} <= names
    assert f"HubSpot hub {HUB} is reachable" in conn.integration.check()
    # Neither token reached the audit trail.
    for row in AuditRecord.objects.all():
        text = f"{row.message} {row.url} {row.payload}"
        assert creds["access_token"] not in text and creds["refresh_token"] not in text


@pytest.mark.parametrize("path", ["/oauth/v1/token", "/oauth/2026-03/token"])
def test_the_token_path_is_a_setting_and_both_answer_what_hubspots_spec_documents(admin_a, settings, path):
    settings.HUBSPOT_TOKEN_PATH = path
    conn = _oauth_connection(admin_a)
    assert sandbox.stats()["oauth_code_exchanges"] == 1
    http = [r for r in AuditRecord.objects.filter(kind=AuditRecord.Kind.HTTP) if "/token" in (r.url or "")]
    assert http and all(r.url.endswith(path) for r in http)
    assert conn.secrets()["kind"] == "oauth"


def test_the_sandbox_token_endpoint_checks_the_form_against_the_spec_and_answers_hubspots_errors(admin_a):
    conn = _oauth_connection(admin_a)
    app = {"client_id": "sandbox-hubspot-client", "client_secret": "sandbox-hubspot-client-secret"}
    c = Client()
    ok = c.post(TOKEN_URL, {**app, "grant_type": "refresh_token", "refresh_token": conn.secrets()["refresh_token"]})
    assert ok.status_code == 200
    assert list(Draft7Validator(sandbox_oauth.TOKEN_ANSWER).iter_errors(ok.json())) == []
    assert ok.json()["hub_id"] == int(HUB) and ok.json()["expires_in"] == 1800
    # A grant type the spec does not list, an unknown refresh token, a wrong secret: HubSpot's v1 shapes.
    bad = c.post(TOKEN_URL, {**app, "grant_type": "password"})
    assert bad.status_code == 400 and "grant_type" in bad.json()["message"]
    unknown = c.post(TOKEN_URL, {**app, "grant_type": "refresh_token", "refresh_token": "not-a-real-refresh-token"})
    assert unknown.status_code == 400 and unknown.json()["status"] == "BAD_REFRESH_TOKEN"
    assert "error" not in unknown.json()
    secret = c.post(TOKEN_URL, {**app, "client_secret": "wrong-secret", "grant_type": "refresh_token"})
    assert secret.status_code == 400 and secret.json()["status"] == "BAD_CLIENT_SECRET"
    versioned = c.post(
        "/sandbox/hubspot/api/oauth/2026-03/token",
        {**app, "grant_type": "refresh_token", "refresh_token": "not-a-real-refresh-token"},
    )
    assert versioned.json()["error"] == "invalid_grant" and versioned.json()["status"] == "BAD_REFRESH_TOKEN"


def test_declining_consent_says_so_and_stores_nothing(admin_a):
    page = connect_hubspot_oauth(client_for(admin_a), decision="deny")
    assert b"You declined access to HubSpot; nothing was connected." in page.content
    assert not Connection.objects.exists()
    assert not SandboxToken.objects.filter(provider="hubspot", app__isnull=False).exclude(kind="code").exists()


def test_a_callback_whose_state_does_not_match_is_refused_and_stores_nothing(admin_a):
    client = client_for(admin_a)
    begin = client.get("/connections/hubspot/connect/")
    path = begin["Location"].removeprefix("http://testserver")
    back = client.post(path, {"decision": "allow", "hub": HUB})
    callback = back["Location"].removeprefix("http://testserver")
    parts = urlsplit(callback)
    code = parse_qs(parts.query)["code"][0]
    forged = client.get(f"{parts.path}?code={code}&state=forged-state-value", follow=True)
    assert b"could not be matched to one you started" in forged.content
    assert not Connection.objects.exists()
    # The state was single use: the genuine callback, now replayed, is refused too.
    replayed = client.get(callback, follow=True)
    assert b"could not be matched to one you started" in replayed.content
    assert not Connection.objects.exists() and sandbox.stats().get("oauth_code_exchanges", 0) == 0


def test_an_access_token_past_its_30_minutes_is_refreshed_before_the_call(admin_a):
    conn = _oauth_connection(admin_a)
    first = conn.secrets()
    Connection.objects.filter(pk=conn.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    conn.refresh_from_db()
    assert "reachable" in conn.integration.check()
    conn.refresh_from_db()
    assert conn.secrets()["access_token"] != first["access_token"] and conn.credentials_version == 1
    assert conn.secrets()["refresh_token"] == first["refresh_token"]  # HubSpot's stay valid (rotation off)
    assert conn.token_expires_at > timezone.now() + timedelta(minutes=25)
    assert sandbox.stats()["oauth_refreshes"] == 1


def test_two_workers_whose_access_token_expired_refresh_it_once(admin_a):
    sandbox.set_oauth(rotate_refresh=True)  # a second refresh with the spent token would be refused
    conn = _oauth_connection(admin_a)
    first = conn.secrets()
    # HubSpot expired it early: our clock still says it is good, so both workers meet 401 EXPIRED_AUTHENTICATION.
    assert sandbox.expire_oauth_tokens() == 1
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            stale = Connection.objects.get(pk=conn.pk)
            barrier.wait()
            results.append(stale.integration.check())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(results) == 2 and all("reachable" in r for r in results)
    assert sandbox.stats()["oauth_refreshes"] == 1
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.status == "active" and stored.credentials_version == conn.credentials_version + 1
    assert stored.secrets()["refresh_token"] != first["refresh_token"]
    spent = SandboxToken.objects.filter(provider="hubspot", kind="refresh", used_at__isnull=False)
    assert spent.count() == 1
    expired_401s = AuditRecord.objects.filter(kind=AuditRecord.Kind.HTTP, status_code=401, connection=stored)
    assert expired_401s.count() == 2


def test_a_refused_refresh_after_the_app_is_uninstalled_asks_for_reconnect(admin_a):
    conn = _oauth_connection(admin_a)
    assert sandbox.revoke_oauth_app() == 2  # its access and refresh token
    with pytest.raises(Unauthorized) as refused:
        conn.integration.check()
    assert refused.value.needs_reconnect
    conn.refresh_from_db()
    assert conn.status == "needs_reconnect"
    assert "BAD_REFRESH_TOKEN" in str(refused.value) and conn.secrets()["refresh_token"] not in str(refused.value)


def test_hubspot_failing_at_refresh_time_is_tried_again_later_not_a_reconnect(admin_a):
    conn = _oauth_connection(admin_a)
    Connection.objects.filter(pk=conn.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    conn.refresh_from_db()
    faults.add("hubspot", status=503, match="/oauth/v1/token", body={"status": "error", "message": "down"})
    with pytest.raises(Unavailable):
        conn.integration.check()
    conn.refresh_from_db()
    assert conn.status == "active"
    assert "reachable" in conn.integration.check()  # the fault was used up: the refresh goes through now


def test_reconnecting_by_sign_in_replaces_the_tokens_of_the_same_hub(admin_a):
    client = client_for(admin_a)
    assert connect_hubspot(client).status_code == 302  # first with a private app token
    private = Connection.objects.get(provider="hubspot")
    # A private app connection reconnects with a token, even though sign-in is available.
    again = client.get(f"/hubspot/connect/?connection={private.pk}")
    assert again["Location"] == f"/connections/hubspot/token/?connection={private.pk}"
    # Signing in to the same hub takes over that connection instead of making a second one.
    connect_hubspot_oauth(client)
    assert Connection.objects.filter(provider="hubspot").count() == 1
    conn = Connection.objects.get(provider="hubspot")
    assert conn.pk == private.pk and conn.secrets()["kind"] == "oauth" and conn.token_expires_at is not None
    # And an OAuth connection's Reconnect goes through sign-in again.
    assert client.get(f"/hubspot/connect/?connection={conn.pk}")["Location"] == (
        f"/connections/hubspot/connect/?connection={conn.pk}"
    )
    page = connect_hubspot_oauth(client, query=f"?connection={conn.pk}")
    assert b"HubSpot connected" in page.content
    assert Connection.objects.get(pk=conn.pk).credentials_version == conn.credentials_version + 1


def test_sign_in_to_another_hub_than_the_connection_being_reconnected_is_refused(admin_a):
    conn = _oauth_connection(admin_a)
    sandbox.add_portal(13572468, "Other Sales")
    page = connect_hubspot_oauth(client_for(admin_a), query=f"?connection={conn.pk}", hub=13572468)
    assert b"you signed in to hub 13572468, but this connection writes to hub 24681357" in page.content
    assert Connection.objects.get(pk=conn.pk).credentials_version == conn.credentials_version


def test_oauth_calls_are_paced_on_the_public_apps_budget_without_daily_headers(admin_a):
    conn = _oauth_connection(admin_a)
    client = conn.integration.client()
    assert client.oauth and client.budget() == (110, 10.0)  # before any header: the OAuth default
    response, _ = client.request("GET", "/account-info/v3/details")
    assert "X-HubSpot-RateLimit-Daily-Remaining" not in response.headers
    assert response.headers["X-HubSpot-RateLimit-Max"] == "110"
    assert cache.get(f"hubspot:budget:{HUB}:oauth") == (110, 10.0)
    from mlconnector.ratelimit import limiter

    assert limiter().blocked_for(f"hubspot:{HUB}:oauth") <= 0
    assert client.rate_limit_key("GET", "/crm/v3/objects/contacts") == f"hubspot:{HUB}:oauth"


def test_without_a_hubspot_app_on_the_server_only_the_token_form_is_offered(admin_a, settings):
    settings.HUBSPOT_CLIENT_ID = ""
    client = client_for(admin_a)
    home = client.get("/").content.decode()
    assert 'href="/hubspot/connect/"' in home
    assert client.get("/hubspot/connect/")["Location"] == "/connections/hubspot/token/"
    assert client.get("/connections/hubspot/connect/").status_code == 404
    assert b"Prefer signing in?" not in client.get("/connections/hubspot/token/").content
    # With the app configured, both are offered.
    settings.HUBSPOT_CLIENT_ID = "sandbox-hubspot-client"
    assert b"Prefer signing in?" in client.get("/connections/hubspot/token/").content
    assert 'href="/connections/hubspot/token/">or use an API token' in client.get("/").content.decode()


def test_viewers_cannot_start_a_hubspot_connect(viewer_a):
    assert client_for(viewer_a).get("/hubspot/connect/").status_code == 403


def test_a_hub_that_does_not_grant_the_optional_invoice_scopes_still_connects(admin_a):
    sandbox.set_oauth(grant_optional=False)
    conn = _oauth_connection(admin_a)
    granted = SandboxToken.objects.get(provider="hubspot", kind="access", app__isnull=False).scopes.split()
    assert "crm.objects.contacts.write" in granted and "crm.objects.invoices.write" not in granted
    assert conn.status == "active" and conn.external_account_id == HUB


def test_a_code_hubspot_refuses_at_the_exchange_says_so_and_stores_nothing(admin_a):
    client = client_for(admin_a)
    begin = client.get("/connections/hubspot/connect/")
    path = begin["Location"].removeprefix("http://testserver")
    back = client.post(path, {"decision": "allow", "hub": HUB})
    parts = urlsplit(back["Location"])
    state = parse_qs(parts.query)["state"][0]
    page = client.get(f"{parts.path}?code=not-the-code-hubspot-gave&state={state}", follow=True)
    assert b"HubSpot refused the sign-in (BAD_AUTH_CODE: missing or unknown auth code)" in page.content
    assert not Connection.objects.exists()
