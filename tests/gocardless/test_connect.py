"""Connecting GoCardless: a token and its environment, checked by reading the creditor before
anything is stored; a token of the other environment gets a sentence that says so; the settings
page shows the webhook URL and keeps the endpoint secret encrypted; every call pins the version."""

from __future__ import annotations

import pytest

from integrations.gocardless.sandbox import issue_token, seed_demo
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection

pytestmark = pytest.mark.django_db


def connect(client, token: str, environment: str = "sandbox"):
    return client.post("/gocardless/connect/", {"token": token, "environment": environment})


def test_an_admin_connects_with_a_sandbox_token_and_the_creditor_is_read(as_admin_a, tenant_a):
    demo = seed_demo()
    response = connect(as_admin_a, issue_token(demo.sandbox))
    assert response.status_code == 302
    conn = Connection.objects.get(provider="gocardless", tenant=tenant_a)
    assert conn.status == "active" and conn.name == "Demo Books Ltd" and conn.config["environment"] == "sandbox"
    assert conn.external_account_id.startswith("CR")
    page = as_admin_a.get(response["Location"])
    assert f"/hooks/gocardless/{conn.endpoint_key}/".encode() in page.content
    # Test connection reads the creditor.
    assert "Creditor Demo Books Ltd" in conn.integration.check()
    calls = AuditRecord.objects.filter(kind="http", provider="gocardless")
    assert calls.exists()


def test_a_live_token_offered_as_sandbox_is_refused_in_plain_words_and_nothing_is_stored(as_admin_a):
    demo = seed_demo()
    response = connect(as_admin_a, issue_token(demo.live), "sandbox")
    assert response.status_code == 400
    assert "This is a live token" in response.content.decode()
    assert not Connection.objects.filter(provider="gocardless").exists()


def test_a_token_without_its_prefix_is_tried_in_the_other_environment_to_say_which(as_admin_a):
    from integrations.sandbox import tokens

    demo = seed_demo()
    raw = tokens.issue("gocardless", "access", account=demo.live, data={"environment": "live"})
    response = connect(as_admin_a, raw, "sandbox")
    assert response.status_code == 400
    assert "live environment accepts this token" in response.content.decode()


def test_an_unknown_token_is_refused_and_never_echoed(as_admin_a):
    seed_demo()
    response = connect(as_admin_a, "sandbox_this-is-not-a-real-token-123")
    assert response.status_code == 400
    body = response.content.decode()
    assert "did not accept this token" in body and "this-is-not-a-real-token" not in body


def test_a_viewer_cannot_connect(as_viewer_a):
    seed_demo()
    assert connect(as_viewer_a, issue_token(seed_demo().sandbox)).status_code == 403


def test_the_endpoint_secret_is_saved_encrypted_and_checked_against(as_admin_a, tenant_a):
    demo = seed_demo()
    connect(as_admin_a, issue_token(demo.sandbox))
    conn = Connection.objects.get(provider="gocardless")
    response = as_admin_a.post(
        f"/gocardless/{conn.pk}/", {"webhook_secret": "whsec-test-secret-0123456789", "fees_category": "Bank Fees"}
    )
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.secrets()["webhook_secret"] == "whsec-test-secret-0123456789"
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT credentials FROM connections_connection WHERE id = %s", [conn.pk])
        assert b"whsec-test-secret" not in bytes(cur.fetchone()[0])
    page = as_admin_a.get(f"/gocardless/{conn.pk}/").content.decode()
    assert "whsec-test-secret" not in page and "Secret saved" in page


def test_every_call_pins_the_gocardless_version_and_the_fake_refuses_one_without(client, tenant_a):
    demo = seed_demo()
    token = issue_token(demo.sandbox)
    without = client.get("/sandbox/gocardless/sandbox/creditors", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert without.status_code == 400 and without.json()["error"]["errors"][0]["reason"] == "missing_version_header"
    with_it = client.get(
        "/sandbox/gocardless/sandbox/creditors",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_GOCARDLESS_VERSION="2015-07-06",
    )
    assert with_it.status_code == 200 and with_it.json()["creditors"][0]["name"] == "Demo Books Ltd"


def test_the_home_page_offers_to_connect_gocardless_with_its_own_form(as_admin_a):
    seed_demo()
    assert b'href="/gocardless/connect/"' in as_admin_a.get("/").content


def test_partner_oauth_connects_through_the_consent_page(as_admin_a, tenant_a):
    seed_demo()
    page = as_admin_a.get("/gocardless/connect/")
    assert b"Sign in with GoCardless" in page.content
    start = as_admin_a.get("/connections/gocardless/connect/")
    assert start.status_code == 302
    consent = start["Location"].removeprefix("http://testserver")
    assert consent.startswith("/sandbox/gocardless/connect/oauth/authorize?") and "scope=read_write" in consent
    assert b"Demo Books Ltd" in as_admin_a.get(consent).content
    back = as_admin_a.post(consent, {"decision": "allow", "organisation": "OR0000DEMO01"})
    assert back.status_code == 302
    done = as_admin_a.get(back["Location"].removeprefix("http://testserver"))
    assert done.status_code == 302
    conn = Connection.objects.get(provider="gocardless", tenant=tenant_a)
    assert conn.status == "active" and conn.config["organisation_id"] == "OR0000DEMO01"
    assert conn.secrets()["access_token"].startswith("sandbox_")
    assert "Creditor Demo Books Ltd" in conn.integration.check()


def test_partner_oauth_denied_stores_nothing(as_admin_a):
    seed_demo()
    consent = as_admin_a.get("/connections/gocardless/connect/")["Location"].removeprefix("http://testserver")
    back = as_admin_a.post(consent, {"decision": "deny"})
    as_admin_a.get(back["Location"].removeprefix("http://testserver"))
    assert not Connection.objects.filter(provider="gocardless").exists()


def test_a_second_creditor_in_the_same_tenant_is_refused_so_no_invoice_is_charged_twice(as_admin_a):
    from integrations.gocardless.sandbox.state import add_organisation

    demo = seed_demo()
    assert connect(as_admin_a, issue_token(demo.sandbox)).status_code == 302
    other = add_organisation("OR0000OTHER1", "Another Creditor Ltd", "sandbox")
    response = connect(as_admin_a, issue_token(other))
    assert response.status_code == 400 and "already collects through GoCardless creditor" in response.content.decode()
    assert Connection.objects.filter(provider="gocardless").count() == 1
    # The same creditor again is a reconnect, not a second connection.
    assert connect(as_admin_a, issue_token(demo.sandbox)).status_code == 302
    assert Connection.objects.filter(provider="gocardless").count() == 1
