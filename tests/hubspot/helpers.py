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
