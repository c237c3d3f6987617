"""Helpers for Salesforce tests: an org reset to its seed, and a connection made through the form."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from integrations.salesforce import sandbox as sf
from mlconnector.connections.models import Connection

MY_DOMAIN = f"https://{sf.DEMO_HOST}"


def connect_form(**overrides) -> dict:
    form = {"my_domain": MY_DOMAIN, "consumer_key": sf.CONSUMER_KEY, "consumer_secret": sf.CONSUMER_SECRET}
    form.update(overrides)
    return form


def connect_salesforce(client: Client, **overrides) -> Connection:
    response = client.post(reverse("salesforce-connect"), connect_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    return Connection.objects.get(provider="salesforce", status="active")


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]
