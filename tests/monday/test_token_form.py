"""The generic "connect with an API token" form, with Monday as the provider."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.monday import sandbox
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
URL = reverse("connection-token", args=["monday"])


@pytest.fixture(autouse=True)
def _sandbox(db):
    sandbox.reset()


def test_a_good_token_connects_and_leads_to_the_boards(as_admin_a, tenant_a):
    token = sandbox.issue_personal_token()
    response = as_admin_a.post(URL, {"token": token})
    conn = Connection.objects.get(provider="monday")
    assert response.status_code == 302 and response["Location"] == reverse("monday-maps", args=[conn.pk])
    assert conn.tenant == tenant_a and conn.status == "active" and conn.external_account_id
    assert conn.secrets()["access_token"] == token and conn.token_expires_at is None


def test_a_bad_token_gets_a_clear_error_and_nothing_is_stored(as_admin_a):
    response = as_admin_a.post(URL, {"token": "not-a-monday-token-000000000"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Monday.com did not accept this token" in page
    assert "not-a-monday-token-000000000" not in page  # never echoed back
    assert not Connection.objects.exists()
    refusal = AuditRecord.objects.get(kind="connection", outcome="error")
    assert "not-a-monday-token" not in refusal.message


@pytest.mark.parametrize(
    ("token", "message"),
    [("", "Paste the API token here."), ("short", "too short"), ("has spaces in it 1234567890", "spaces")],
)
def test_malformed_tokens_are_refused_before_asking_monday(as_admin_a, token, message):
    calls = sandbox.stats().get("calls", 0)
    response = as_admin_a.post(URL, {"token": token})
    assert response.status_code == 400 and message in response.content.decode()
    assert sandbox.stats().get("calls", 0) == calls and not Connection.objects.exists()


def test_connecting_the_same_account_again_updates_the_connection(as_admin_a):
    as_admin_a.post(URL, {"token": sandbox.issue_personal_token()})
    newer = sandbox.issue_personal_token("second")
    as_admin_a.post(URL, {"token": newer})
    conn = Connection.objects.get(provider="monday")
    assert conn.secrets()["access_token"] == newer and conn.credentials_version == 1


def test_a_reconnect_replaces_the_token_of_that_connection(as_admin_a):
    as_admin_a.post(URL, {"token": sandbox.issue_personal_token()})
    conn = Connection.objects.get(provider="monday")
    Connection.objects.filter(pk=conn.pk).update(status="needs_reconnect")
    newer = sandbox.issue_personal_token("second")
    response = as_admin_a.post(f"{URL}?connection={conn.pk}", {"token": newer})
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.status == "active" and conn.secrets()["access_token"] == newer


def test_the_form_page_explains_where_the_token_is(as_admin_a):
    page = as_admin_a.get(URL).content.decode()
    assert "My access tokens" in page and 'type="password"' in page


def test_a_provider_without_a_token_form_is_not_found(as_admin_a):
    assert as_admin_a.get(reverse("connection-token", args=["freshbooks"])).status_code == 404
    assert as_admin_a.get(reverse("connection-token", args=["nosuch"])).status_code == 404


def test_only_admins_connect(viewer_a):
    response = client_for(viewer_a).post(URL, {"token": sandbox.issue_personal_token()})
    assert response.status_code == 403 and not Connection.objects.exists()
