"""Connecting Monday.com by OAuth through the sandbox's consent page, with and without refresh tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.monday import sandbox
from mlconnector.connections.models import Connection
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def connect_monday_oauth(client: Client, decision: str = "authorize", query: str = ""):
    start = client.get("/connections/monday/connect/" + query)
    assert start.status_code == 302
    consent = start["Location"]
    assert consent.startswith("http://testserver/sandbox/monday/auth/oauth2/authorize?")
    path = consent.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    back = client.post(path, {"decision": decision})
    assert back.status_code == 302
    return client.get(back["Location"].removeprefix("http://testserver"), follow=True)


@pytest.fixture(autouse=True)
def _sandbox(db):
    sandbox.reset()


def test_an_admin_connects_by_oauth_and_is_sent_to_choose_boards(admin_a):
    page = connect_monday_oauth(client_for(admin_a))
    conn = Connection.objects.get(provider="monday")
    assert conn.status == "active" and conn.external_account_id
    # Named as people know the account (it read "Monday account 27182818 (27182818)" on the home page).
    assert conn.name == "ML Connector Demo" and conn.config["account_slug"] == "ml-connector-demo"
    assert page.redirect_chain[-1][0] == f"/monday/{conn.pk}/maps/"
    creds = conn.secrets()
    assert creds["access_token"] and "refresh_token" not in creds and conn.token_expires_at is None
    assert "Signed in to Monday.com" in conn.integration.check()


def test_the_newer_flow_stores_the_refresh_token_and_refreshes_before_expiry(admin_a, settings):
    settings.SANDBOX_MONDAY_OAUTH_REFRESH = True
    connect_monday_oauth(client_for(admin_a))
    conn = Connection.objects.get(provider="monday")
    first = conn.secrets()
    assert first["refresh_token"] and conn.token_expires_at > timezone.now() + timedelta(minutes=30)
    Connection.objects.filter(pk=conn.pk).update(token_expires_at=timezone.now() + timedelta(seconds=30))
    conn.refresh_from_db()
    conn.integration.check()
    conn.refresh_from_db()
    assert conn.secrets()["access_token"] != first["access_token"] and conn.credentials_version == 1
    assert conn.secrets()["refresh_token"] != first["refresh_token"]  # rotated, the spent one is not kept


def test_declining_consent_connects_nothing(admin_a):
    page = connect_monday_oauth(client_for(admin_a), decision="cancel")
    assert b"You declined access to Monday.com" in page.content
    assert not Connection.objects.exists()
