"""Connecting HubSpot: a private app token and the hub id, checked before anything is stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.hubspot import sandbox
from mlconnector.connections.models import Connection
from tests.conftest import client_for
from tests.hubspot.helpers import connect_hubspot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def portal(db):
    sandbox.reset()


def test_it_connects_with_a_private_app_token_stores_it_encrypted_and_makes_the_freshbooks_properties(admin_a):
    token = sandbox.issue_token()
    client = client_for(admin_a)
    response = connect_hubspot(client, token)
    assert response.status_code == 302
    conn = Connection.objects.get(provider="hubspot")
    assert conn.status == "active" and conn.external_account_id == str(sandbox.DEMO_HUB_ID)
    assert conn.secrets()["access_token"] == token and conn.config["time_zone"] == "America/New_York"
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT credentials FROM connections_connection WHERE id = %s", [conn.pk])
        assert token.encode() not in bytes(cur.fetchone()[0])
    # The page shows the connection, never the token.
    page = client.get(f"/connections/{conn.pk}/").content.decode()
    assert "HubSpot hub" in page and token not in page
    names = {p["name"] for p in _properties("contacts")}
    assert {"freshbooks_client_id", "freshbooks_outstanding", "freshbooks_overdue"} <= names
    tested = client.post(reverse("connection-test", args=[conn.pk]), follow=True).content.decode()
    assert f"HubSpot hub {sandbox.DEMO_HUB_ID} is reachable" in tested


def _properties(object_type: str) -> list[dict]:
    from integrations.hubspot.sandbox import objects

    account = sandbox.portal()
    return [{"name": n} for n in objects.properties(account, objects.TYPES[object_type])]


@pytest.mark.parametrize(
    ("token", "hub", "words"),
    [
        ("xoxb-not-a-hubspot-token-000", sandbox.DEMO_HUB_ID, "not a private app access token"),
        ("pat-na1-not-a-real-token-for-tests", sandbox.DEMO_HUB_ID, "did not accept this token"),
        (None, 99999, "belongs to hub 24681357, not hub 99999"),
    ],
)
def test_a_bad_token_gets_a_clear_message_next_to_the_field_and_stores_nothing(admin_a, token, hub, words):
    response = connect_hubspot(client_for(admin_a), token or sandbox.issue_token(), hub=hub)
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page and 'id="token-error"' in page
    assert not Connection.objects.filter(provider="hubspot").exists()


def test_a_token_made_in_another_hub_cannot_replace_this_connections_token(admin_a):
    client = client_for(admin_a)
    connect_hubspot(client)
    conn = Connection.objects.get(provider="hubspot")
    sandbox.add_portal(13572468, "Other hub")
    other = sandbox.issue_token(hub_id=13572468)
    url = reverse("connection-token", args=["hubspot"]) + f"?connection={conn.pk}"
    response = client.post(url, {"token": other, "account": "13572468"})
    assert response.status_code == 400 and "but this connection writes to hub 24681357" in response.content.decode()
    conn.refresh_from_db()
    assert conn.external_account_id == str(sandbox.DEMO_HUB_ID)


def test_the_hub_id_must_be_a_number(admin_a):
    response = connect_hubspot(client_for(admin_a), sandbox.issue_token(), hub="my hub")
    assert response.status_code == 400 and "Use the number only" in response.content.decode()


def test_properties_made_meanwhile_by_another_worker_are_taken_as_there(admin_a):
    from integrations.hubspot import schema
    from integrations.hubspot.client import HubSpotClient

    token = sandbox.issue_token()
    client = HubSpotClient(None, token=token, hub_id=str(sandbox.DEMO_HUB_ID))
    assert schema.ensure(client, ("invoices",))  # made now
    from integrations.hubspot.sandbox import objects

    # Another worker made the group and one property after this one read the list: 409s, then nothing missing.
    objects.SandboxObject.objects.filter(kind="prop:invoices", object_id="freshbooks_invoice_number").delete()
    original = client.call
    calls = []

    def racing(method, path, **kwargs):
        calls.append((method, path))
        if method == "POST" and path.endswith("batch/create") and len(calls) == 3:
            objects.create_property(sandbox.portal(), objects.TYPES["invoices"], {**schema.PROPERTIES["invoices"][1]})
        return original(method, path, **kwargs)

    client.call = racing
    assert schema.ensure(client, ("invoices",)) == []
    assert "freshbooks_invoice_number" in objects.properties(sandbox.portal(), objects.TYPES["invoices"])
