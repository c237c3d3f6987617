"""End to end through both sandboxes: a FreshBooks invoice and its payment become Monday items."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import today as freshbooks_today
from integrations.monday import sandbox
from integrations.monday.models import BoardMap
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.delivery import deliver
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.pipeline.replay import replay_deliveries
from tests.conftest import client_for
from tests.freshbooks.test_flow import CONSOLE, connect_freshbooks, create_invoice
from tests.monday.helpers import (
    INVOICES,
    PAYMENTS,
    connect_monday,
    invoice_map_form,
    payment_map_form,
    save_map,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, admin_a):
    seed_demo()
    sandbox.reset()
    client = client_for(admin_a)
    connect_freshbooks(client)
    monday = connect_monday(client)
    assert save_map(client, monday, "invoice", invoice_map_form()).status_code == 302
    assert save_map(client, monday, "payment", payment_map_form()).status_code == 302
    return client, monday


def only_invoice_item() -> dict:
    found = sandbox.items(INVOICES)
    assert len(found) == 1, found
    return found[0]["by_title"] | {"_id": found[0]["id"], "_name": found[0]["name"]}


def record_payment(amount: str) -> None:
    from integrations.freshbooks.sandbox.state import rows

    account = seed_demo().businesses[0]
    invoice = rows(account, "invoice").order_by("-id").first()
    response = Client().post(
        f"{CONSOLE}/payment/",
        {
            "payment-invoiceid": invoice.data["id"],
            "payment-amount": amount,
            "payment-date": freshbooks_today().isoformat(),  # the books' calendar, not UTC's
            "payment-type": "Check",
        },
    )
    assert response.status_code in (200, 302), response.content[:500]


def test_an_invoice_becomes_an_item_and_its_payment_marks_it_paid(world):
    client, monday = world
    create_invoice("6000.00")
    dispatcher.tick()
    item = only_invoice_item()
    assert item["Client"]["text"] == "Northwind Traders"
    assert Decimal(item["Amount"]["text"]) == Decimal("6000.00")
    assert item["Due date"]["text"] == (freshbooks_today() + timedelta(days=30)).isoformat()
    assert item["Status"]["text"] == "Sent"
    assert item["Invoice number"]["text"]
    delivery = Delivery.objects.get(connection=monday, event_type="invoice.create")
    assert delivery.status == "succeeded" and delivery.remote_id == item["_id"]

    record_payment("6000.00")
    dispatcher.tick()
    item = only_invoice_item()
    assert item["Status"]["text"] == "Paid"
    payments = sandbox.items(PAYMENTS)
    assert len(payments) == 1
    paid = payments[0]["by_title"]
    assert Decimal(paid["Amount"]["text"]) == Decimal("6000.00")
    assert paid["Client"]["text"] == "Northwind Traders" and paid["Method"]["text"] == "Check"
    assert paid["Invoice number"]["text"] == item["Invoice number"]["text"]
    assert Delivery.objects.filter(connection=monday).exclude(status="succeeded").count() == 0


def test_replaying_the_invoice_event_updates_the_same_item(world, admin_a):
    client, monday = world
    create_invoice("6000.00")
    dispatcher.tick()
    first = only_invoice_item()
    # Someone edits the amount on Monday; FreshBooks stays the system of record.
    amount = sandbox.board(INVOICES)["column_ids"]["Amount"]
    monday.integration.client().execute(
        "ChangeValues", {"board": sandbox.board(INVOICES)["id"], "item": first["_id"], "values": f'{{"{amount}": "1"}}'}
    )
    assert only_invoice_item()["Amount"]["text"] == "1"

    delivery = Delivery.objects.get(connection=monday, event_type="invoice.create")
    replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=admin_a, resend=True)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    again = only_invoice_item()
    assert again["_id"] == first["_id"] and Decimal(again["Amount"]["text"]) == Decimal("6000.00")
    assert delivery.remote_id == first["_id"]
    assert RecordLink.objects.filter(connection=monday, source_type="invoice").count() == 1


def test_a_deleted_column_fails_the_delivery_until_the_map_is_fixed(world, admin_a):
    client, monday = world
    board = sandbox.board(INVOICES)
    sandbox.delete_column(INVOICES, board["column_ids"]["Amount"])
    create_invoice("250.00")
    dispatcher.tick()
    delivery = Delivery.objects.get(connection=monday, event_type="invoice.create")
    assert delivery.status == "failed"
    assert "“Amount”" in delivery.last_error and board["column_ids"]["Amount"] in delivery.last_error
    assert sandbox.items(INVOICES) == []  # nothing half-written
    bm = BoardMap.objects.get(connection=monday, record_type="invoice")
    assert "Amount" in bm.problem
    monday.refresh_from_db()
    assert "Amount" in monday.last_error

    # The editor shows the problem; the admin drops the amount, saves, and replays.
    page = client.get(f"/monday/{monday.pk}/maps/invoice/")
    assert "Amount" in page.content.decode()
    assert save_map(client, monday, "invoice", invoice_map_form(col_amount="")).status_code == 302
    bm.refresh_from_db()
    assert bm.problem == ""
    replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=admin_a)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded", delivery.last_error
    assert only_invoice_item()["Client"]["text"] == "Northwind Traders"


def test_the_event_page_links_the_item_on_its_board(world):
    from django.urls import reverse

    from mlconnector.webhooks.models import InboundEvent

    client, monday = world
    create_invoice("6000.00")
    dispatcher.tick()
    item = only_invoice_item()
    event = InboundEvent.objects.get(event_type="invoice.create")
    page = client.get(reverse("audit-event", args=[event.pk])).content.decode()
    board = BoardMap.objects.get(connection=monday, record_type="invoice").board_id
    assert f'href="http://testserver/sandbox/monday/boards/{board}/#item-{item["_id"]}"' in page
    assert f">item {item['_id']}</a>" in page
