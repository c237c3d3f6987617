"""End to end through both sandboxes: a FreshBooks client, invoice and payment arrive in HubSpot as an
associated contact, company, invoice (with line items) and payment, with the balance right after each step."""

from __future__ import annotations

import pytest

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import rows
from integrations.freshbooks.sandbox.state import today as books_today
from integrations.hubspot import sandbox
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks
from tests.hubspot.helpers import console, hubspot_connection, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, admin_a):
    seed_demo()
    sandbox.reset()
    client = client_for(admin_a)
    hubspot = hubspot_connection(client)
    connect_freshbooks(client)
    return client, hubspot


def latest(kind: str) -> dict:
    return rows(seed_demo().businesses[0], kind).order_by("-id").first().data


def test_a_client_invoice_and_payment_arrive_associated_with_the_balance_after_each_step(world):
    client, hubspot = world
    console(
        "client",
        organization="Initrode",
        fname="Bill",
        lname="Lumbergh",
        email="bill@initrode.example",
        currency_code="USD",
    )
    run()
    fb_client = latest("client")
    contact = sandbox.record("contacts", "bill@initrode.example")
    assert contact["properties"]["freshbooks_client_id"] == str(fb_client["id"])
    assert contact["properties"]["freshbooks_outstanding"] == "0.00"
    company = sandbox.record("companies", str(fb_client["id"]), "freshbooks_client_id")
    assert company["properties"]["name"] == "Initrode"
    assert contact["associations"]["companies"] == [company["id"]]

    console(
        "invoice", customerid=fb_client["id"], amount="1200.00", currency_code="USD", due_date=books_today().isoformat()
    )
    run()
    invoice = sandbox.records("invoices")[0]
    assert invoice["properties"]["hs_invoice_status"] == "open"
    assert invoice["properties"]["hs_amount_billed"] == "1200.00"
    assert invoice["associations"]["contacts"] == [contact["id"]] and invoice["associations"]["companies"] == [
        company["id"]
    ]
    assert len(invoice["associations"]["line_items"]) == 1
    assert sandbox.record("contacts", "bill@initrode.example")["properties"]["freshbooks_outstanding"] == "1200.00"
    assert (
        sandbox.record("companies", company["id"], "hs_object_id")["properties"]["freshbooks_total_invoiced"]
        == "1200.00"
    )

    console("payment", invoiceid=latest("invoice")["id"], amount="200.00", date=books_today().isoformat(), type="Check")
    run()
    payment = sandbox.records("commerce_payments")[0]
    assert payment["properties"]["hs_initial_amount"] == "200.00"
    assert payment["associations"]["invoices"] == [invoice["id"]] and payment["associations"]["contacts"] == [
        contact["id"]
    ]
    after = sandbox.record("contacts", "bill@initrode.example")["properties"]
    assert after["freshbooks_outstanding"] == "1000.00" and after["freshbooks_last_payment_amount"] == "200.00"
    assert sandbox.records("invoices")[0]["properties"]["hs_balance_due"] == "1000.00"
    assert set(Delivery.objects.filter(connection=hubspot).values_list("status", flat=True)) == {"succeeded"}

    # Replays update what is there: nothing new in HubSpot.
    counts = {
        t: len(sandbox.records(t)) for t in ("contacts", "companies", "invoices", "line_items", "commerce_payments")
    }
    replay_deliveries(Delivery.objects.filter(connection=hubspot), actor=None, resend=True)
    run()
    assert {t: len(sandbox.records(t)) for t in counts} == counts
    assert set(Delivery.objects.filter(connection=hubspot).values_list("status", flat=True)) == {"succeeded"}


def test_a_bill_vendor_becomes_a_company_and_the_event_page_links_each_record_into_hubspot(world):
    client, hubspot = world
    console("bill", vendor_name="Acme Paper", amount="80.00", currency_code="USD", due_date=books_today().isoformat())
    console(
        "client",
        organization="Vandelay",
        fname="Art",
        lname="Vandelay",
        email="art@vandelay.example",
        currency_code="USD",
    )
    run()
    vendor = next(c for c in sandbox.records("companies") if c["properties"].get("name") == "Acme Paper")
    assert vendor["properties"]["freshbooks_vendor_id"]
    delivery = Delivery.objects.get(
        connection=hubspot, event_type="client.create", event__object_id=str(latest("client")["id"])
    )
    contact = sandbox.record("contacts", "art@vandelay.example")
    assert delivery.remote_id == contact["id"]
    page = client.get(f"/audit/events/{delivery.event_id}/").content.decode()
    assert f"/sandbox/hubspot/records/contacts/{contact['id']}/" in page
    assert "/sandbox/hubspot/records/companies/" in page


def test_an_invoice_deleted_in_freshbooks_is_voided_in_hubspot_and_leaves_the_balance(world):
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS, announce

    client, hubspot = world
    console(
        "client",
        organization="Initrode",
        fname="Bill",
        lname="Lumbergh",
        email="bill@initrode.example",
        currency_code="USD",
    )
    run()
    fb_client = latest("client")
    console(
        "invoice", customerid=fb_client["id"], amount="300.00", currency_code="USD", due_date=books_today().isoformat()
    )
    run()
    assert sandbox.record("contacts", "bill@initrode.example")["properties"]["freshbooks_outstanding"] == "300.00"

    _, changes = records.delete(seed_demo().businesses[0], KINDS["invoice"], latest("invoice")["id"])
    assert announce(changes) == 1  # FreshBooks sends invoice.delete
    run()
    [invoice] = sandbox.records("invoices")
    assert invoice["properties"]["hs_invoice_status"] == "voided"
    assert sandbox.record("contacts", "bill@initrode.example")["properties"]["freshbooks_outstanding"] == "0.00"
    deleted = Delivery.objects.get(connection=hubspot, event_type="invoice.delete")
    assert deleted.status == "succeeded"
