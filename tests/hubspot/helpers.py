"""Helpers for HubSpot tests: a connection made through the token form, and FreshBooks records made
in the sandbox console (each sends its signed webhook)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from integrations.hubspot import sandbox
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from tests.freshbooks.test_flow import CONSOLE


def connect_hubspot(client: Client, token: str | None = None, hub: int | str = sandbox.DEMO_HUB_ID):
    token = token or sandbox.issue_token()
    return client.post(reverse("connection-token", args=["hubspot"]), {"token": token, "account": str(hub)})


def connect_hubspot_oauth(client: Client, decision: str = "allow", query: str = "", hub: int | str | None = None):
    """Drive the browser flow: Connect → the sandbox's consent page → decision → back to ml-connector.
    Returns the page the callback leads to (followed)."""
    start = client.get("/hubspot/connect/" + query)
    assert start.status_code == 302 and start["Location"].startswith("/connections/hubspot/connect/"), start
    begin = client.get(start["Location"])
    assert begin.status_code == 302, begin.content[:500]
    consent = begin["Location"]
    assert consent.startswith("http://testserver/sandbox/hubspot/oauth/authorize?"), consent
    path = consent.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    back = client.post(path, {"decision": decision, "hub": str(hub or sandbox.DEMO_HUB_ID)})
    assert back.status_code == 302
    return client.get(back["Location"].removeprefix("http://testserver"), follow=True)


def hubspot_connection(client: Client) -> Connection:
    response = connect_hubspot(client)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Connection.objects.get(provider="hubspot", status="active")


def console(action: str, **fields) -> None:
    response = Client().post(f"{CONSOLE}/{action}/", {f"{action}-{k}": v for k, v in fields.items()})
    assert response.status_code in (200, 302), response.content[:800]


def run(rounds: int = 20) -> None:
    """Every due event and delivery, as the dispatcher would hand them out; batch windows included."""
    from datetime import timedelta

    from django.utils import timezone

    from mlconnector.pipeline.models import Delivery

    for _ in range(rounds):
        Delivery.objects.filter(status="pending", next_attempt_at__gt=timezone.now()).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        counts = dispatcher.tick()
        if not any(counts.values()):
            return
