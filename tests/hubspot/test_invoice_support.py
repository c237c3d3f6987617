"""A hub that refuses invoice writes: one clear warning, everything else syncs, the invoices wait, and
the daily check releases them once HubSpot takes invoices."""

from __future__ import annotations

import pytest

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import rows
from integrations.freshbooks.sandbox.state import today as books_today
from integrations.hubspot import sandbox
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import ConnectionJob, Delivery
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks
from tests.hubspot.helpers import console, hubspot_connection, run
from tests.pipeline_helpers import audit_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, admin_a):
    seed_demo()
    sandbox.reset()
    client = client_for(admin_a)
    hubspot = hubspot_connection(client)
    connect_freshbooks(client)
    return client, hubspot


def northwind() -> dict:
    return next(
        r.data for r in rows(seed_demo().businesses[0], "client") if r.data["organization"] == "Northwind Traders"
    )


@pytest.mark.parametrize("mode", ["missing_scope", "not_enabled"])
def test_invoices_wait_while_the_rest_syncs_and_are_released_when_hubspot_takes_them(world, mode):
    client, hubspot = world
    sandbox.set_invoice_writes(mode)
    console(
        "invoice",
        customerid=northwind()["id"],
        amount="700.00",
        currency_code="USD",
        due_date=books_today().isoformat(),
    )
    console(
        "invoice",
        customerid=northwind()["id"],
        amount="300.00",
        currency_code="USD",
        due_date=books_today().isoformat(),
    )
    run()
    invoices = Delivery.objects.filter(connection=hubspot, event_type="invoice.create")
    assert {d.status for d in invoices} == {"waiting"}
    assert all(d.last_error.startswith("waiting for HubSpot invoice support") and d.attempts == 0 for d in invoices)
    assert sandbox.records("invoices") == []
    # The contact was made from the invoice's client, and carries the balance all the same.
    contact = sandbox.record("contacts", "nancy@northwind.example")
    assert contact["properties"]["freshbooks_outstanding"] == "1000.00"
    # One warning, on the connection page and in the audit trail.
    hubspot.refresh_from_db()
    assert hubspot.config["invoices"]["available"] is False
    page = client.get(f"/connections/{hubspot.pk}/").content.decode()
    assert "HubSpot does not accept invoices from ml-connector" in page and "Check invoice support now" in page
    warnings = [
        m
        for m in audit_messages(connection=hubspot, kind=AuditRecord.Kind.CONNECTION)
        if "invoice writes unavailable" in m
    ]
    assert len(warnings) == 1

    # A payment still syncs (associated with the contact; its invoice is not in HubSpot yet).
    invoice = rows(seed_demo().businesses[0], "invoice").order_by("-id").first().data
    console("payment", invoiceid=invoice["id"], amount="100.00", date=books_today().isoformat(), type="Check")
    run()
    payment = sandbox.records("commerce_payments")[0]
    assert payment["associations"]["contacts"] == [contact["id"]]
    assert sandbox.record("contacts", "nancy@northwind.example")["properties"]["freshbooks_outstanding"] == "900.00"
    # Another invoice waits too, and the contact's balance still moves with it.
    console(
        "invoice", customerid=northwind()["id"], amount="50.00", currency_code="USD", due_date=books_today().isoformat()
    )
    run()
    assert sandbox.record("contacts", "nancy@northwind.example")["properties"]["freshbooks_outstanding"] == "950.00"

    # The daily check while HubSpot still refuses: the oldest tries once, everything keeps waiting.
    ConnectionJob.objects.filter(connection=hubspot, name="daily").update(next_attempt_at="2000-01-01T00:00:00Z")
    run()
    assert sandbox.records("invoices") == []
    assert Delivery.objects.filter(connection=hubspot, status="waiting").count() >= 2

    # HubSpot takes invoices now; pressing "Check now" (the daily check) releases every held invoice.
    sandbox.set_invoice_writes("enabled")
    assert client.post(f"/hubspot/{hubspot.pk}/invoices/check/").status_code == 302
    run()
    assert not Delivery.objects.filter(connection=hubspot, status="waiting").exists()
    assert len(sandbox.records("invoices")) == 3
    hubspot.refresh_from_db()
    assert hubspot.config["invoices"]["available"] is True
    assert "Check invoice support now" not in client.get(f"/connections/{hubspot.pk}/").content.decode()
