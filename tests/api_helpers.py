"""The API tests' helpers: a client that sends a bearer token and JSON, and a world to call it on."""

from __future__ import annotations

from django.test import Client

from tests.factories import ConnectionFactory, DeliveryFactory, InboundEventFactory

CHANNELS = [
    {"id": "C0ACCOUNTING", "name": "accounting", "is_private": False, "is_member": True},
    {"id": "C0EXECALERTS", "name": "exec-alerts", "is_private": False, "is_member": True},
]
INVOICE = {
    "id": 42,
    "invoice_number": "0000042",
    "amount": {"amount": "6000.00", "code": "USD"},
    "organization": "Acme",
}


def build_world(tenant_a, tenant_b) -> dict:
    """In each tenant: FreshBooks, a Slack workspace with two channels, an invoice event of 6,000 USD
    and its failed delivery."""
    rows = {}
    for tenant, label in ((tenant_a, "a"), (tenant_b, "b")):
        books = ConnectionFactory(tenant=tenant, name=f"Books {label.upper()}")
        slack = ConnectionFactory(
            tenant=tenant, provider="slack", name=f"Slack {label.upper()}", config={"channels": CHANNELS}
        )
        event = InboundEventFactory(
            connection=books,
            invoice_number=f"INV-{label.upper()}-1",
            counterparty="Northwind Traders",
            amount="6000.00",
            currency="USD",
            payload=INVOICE,
        )
        delivery = DeliveryFactory(event=event, last_error="Slack said no")
        rows[label] = {"books": books, "slack": slack, "event": event, "delivery": delivery}
    return rows


class Api(Client):
    """A test client that sends a bearer token and JSON."""

    def __init__(self, token: str = "", **kwargs):
        super().__init__(**kwargs)
        self.token = token

    def _headers(self, extra):
        headers = dict(extra.pop("headers", None) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path, data=None, **extra):
        return super().get(path, data, headers=self._headers(extra), **extra)

    def post(self, path, data=None, **extra):
        return super().post(path, data or {}, content_type="application/json", headers=self._headers(extra), **extra)

    def patch(self, path, data=None, **extra):
        return super().patch(path, data or {}, content_type="application/json", headers=self._headers(extra), **extra)

    def put(self, path, data=None, **extra):
        return super().put(path, data or {}, content_type="application/json", headers=self._headers(extra), **extra)

    def delete(self, path, data=None, **extra):
        return super().delete(path, headers=self._headers(extra), **extra)
