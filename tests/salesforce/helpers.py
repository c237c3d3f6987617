"""Helpers for Salesforce tests: an org reset to its seed, and a connection made through the form."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import rows
from integrations.freshbooks.sandbox.state import today as freshbooks_today
from integrations.salesforce import sandbox as sf
from mlconnector.connections.models import Connection

CONSOLE = "/sandbox/freshbooks/console/DEMO01"
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


def record_payment(amount: str) -> None:
    account = seed_demo().businesses[0]
    invoice = rows(account, "invoice").order_by("-id").first()
    response = Client().post(
        f"{CONSOLE}/payment/",
        {
            "payment-invoiceid": invoice.data["id"],
            "payment-amount": amount,
            "payment-date": freshbooks_today().isoformat(),
            "payment-type": "Check",
        },
    )
    assert response.status_code in (200, 302), response.content[:500]


def create_client(organization: str = "Globex Corporation", email: str = "ap@globex.example") -> None:
    response = Client().post(
        f"{CONSOLE}/client/",
        {"client-organization": organization, "client-email": email, "client-currency_code": "USD"},
    )
    assert response.status_code in (200, 302), response.content[:500]


def settle(rounds: int = 5) -> None:
    """Run the dispatcher until nothing is due: deliveries to a target that takes batches wait for
    the tick after the one that processed their event."""
    from mlconnector.pipeline import dispatcher

    for _ in range(rounds):
        counts = dispatcher.tick()
        if not counts["events"] and not counts["deliveries"] and not counts["backfills"]:
            return
