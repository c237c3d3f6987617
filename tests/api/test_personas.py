"""The API tokens page for the three personas: each makes and revokes only their own tokens, in the
tenant they work in; a token is shown once and stored only as a digest."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from mlconnector.api import tokens
from mlconnector.api.models import ApiToken
from mlconnector.audit.models import AuditRecord
from tests.api_helpers import Api
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {"api-tokens", "api-token-revoke"}


@pytest.mark.parametrize("persona", ["admin_a", "viewer_a", "admin_b"])
def test_it_shows_a_new_token_once_and_keeps_only_its_digest(personas, persona):
    client = client_for(personas[persona])
    response = client.post(reverse("api-tokens"), {"name": "nightly script", "expires": "30"})
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    plaintext = response.context["plaintext"]
    assert plaintext.startswith("mlc_") and plaintext.encode() in response.content
    row = ApiToken.objects.get(user=personas[persona])
    assert row.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiToken.objects.filter(pk=row.pk).values().get())
    page = client.get(reverse("api-tokens"))
    assert b"nightly script" in page.content and plaintext.encode() not in page.content
    assert any("nightly script" in r.message for r in AuditRecord.objects.filter(kind="api"))


def test_it_refuses_a_token_without_a_name_and_says_so(personas):
    response = client_for(personas["admin_a"]).post(reverse("api-tokens"), {"name": ""})
    assert response.status_code == 400 and b"Name the token" in response.content
    assert not ApiToken.objects.exists()


def test_a_token_acts_in_the_tenant_it_was_made_in(personas, tenant_a, tenant_b, api_world):
    client = client_for(personas["admin_b"])
    response = client.post(reverse("api-tokens"), {"name": "b script"})
    assert ApiToken.objects.get().tenant == tenant_b
    ids = {c["id"] for c in Api(response.context["plaintext"]).get("/api/v1/connections/").json()["results"]}
    assert api_world["b"]["books"].pk in ids and api_world["a"]["books"].pk not in ids


def test_only_the_tokens_owner_can_revoke_it_and_then_it_stops_working(personas, tenant_a, api_world):
    row, plaintext = tokens.issue(user=personas["admin_a"], tenant=tenant_a, name="ci")
    assert Api(plaintext).get("/api/v1/events/").status_code == 200
    url = reverse("api-token-revoke", args=[row.pk])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 404
    assert Api(plaintext).get("/api/v1/events/").status_code == 200
    assert client_for(personas["admin_a"]).post(url).status_code == 302
    response = Api(plaintext).get("/api/v1/events/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")
    page = client_for(personas["admin_a"]).get(reverse("api-tokens"))
    assert b"Revoked" in page.content


def test_an_expired_token_is_refused(personas, tenant_a, api_world):
    import time_machine
    from django.utils import timezone

    row, plaintext = tokens.issue(
        user=personas["admin_a"], tenant=tenant_a, name="short", expires_at=timezone.now() + timezone.timedelta(days=1)
    )
    assert Api(plaintext).get("/api/v1/events/").status_code == 200
    with time_machine.travel(timezone.now() + timezone.timedelta(days=2)):
        assert Api(plaintext).get("/api/v1/events/").status_code == 401


def test_a_token_records_when_it_was_last_used(personas, tenant_a, api_world):
    row, plaintext = tokens.issue(user=personas["viewer_a"], tenant=tenant_a, name="reader")
    assert row.last_used_at is None
    Api(plaintext).get("/api/v1/events/")
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_a_token_stops_working_when_its_user_leaves_the_tenant(personas, tenant_a, api_world):
    from mlconnector.tenants.models import Membership

    row, plaintext = tokens.issue(user=personas["viewer_a"], tenant=tenant_a, name="reader")
    Membership.objects.filter(user=personas["viewer_a"]).delete()
    response = Api(plaintext).get("/api/v1/events/")
    assert response.status_code == 401 and "no longer a member" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer mlc_nope_nope", "Token garbage"])
def test_a_malformed_or_unknown_token_gets_401_with_the_error_body(api_world, header):
    from django.test import Client

    response = Client().get("/api/v1/events/", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}
