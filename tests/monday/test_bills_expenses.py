"""Bills and expenses end to end through both sandboxes: each becomes an item in its own group of the
"Bills & expenses" board, and a later change updates that same item."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS, announce, rows
from integrations.monday import sandbox
from integrations.sandbox.models import SandboxAccount
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery, RecordLink
from tests.conftest import client_for
from tests.freshbooks.test_flow import CONSOLE, connect_freshbooks
from tests.monday.helpers import BILLS, bill_map_form, connect_monday, expense_map_form, save_map

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, admin_a):
    seed_demo()
    sandbox.reset()
    client = client_for(admin_a)
    connect_freshbooks(client)
    monday = connect_monday(client)
    assert save_map(client, monday, "bill", bill_map_form()).status_code == 302
    assert save_map(client, monday, "expense", expense_map_form()).status_code == 302
    return monday


def console(kind: str, **fields) -> None:
    """The sandbox FreshBooks console, as a person uses it."""
    response = Client().post(f"{CONSOLE}/{kind}/", {f"{kind}-{k}": v for k, v in fields.items()})
    assert response.status_code in (200, 302), response.content[:300]


def books() -> SandboxAccount:
    return SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")


def change(kind: str, fields: dict) -> None:
    """A person edits the record in FreshBooks: it changes, and FreshBooks sends its webhook."""
    row = rows(books(), kind).order_by("-id").first()
    _, changes = records.update(books(), KINDS[kind], row.object_id, fields)
    announce(changes)


def items_in(group: str) -> list[dict]:
    return [
        i["by_title"] | {"_id": i["id"], "_name": i["name"]}
        for i in sandbox.items(BILLS)
        if i["group"]["title"] == group
    ]


def test_a_bill_becomes_an_item_in_the_bills_group_and_a_change_updates_it(world):
    console("bill", vendor_name="Initech Supplies", amount="990.00", currency_code="USD", due_date="2026-12-20")
    dispatcher.tick()
    (item,) = items_in("Bills")
    number = rows(books(), "bill").order_by("-id").first().data["bill_number"]
    assert item["_name"] == f"Bill {number} · Initech Supplies"
    assert item["Vendor"]["text"] == "Initech Supplies" and item["Bill number"]["text"] == number
    assert Decimal(item["Amount"]["text"]) == Decimal("990.00")
    assert item["Due date"]["text"] == "2026-12-20" and item["Status"]["text"] == "Unpaid"
    delivery = Delivery.objects.get(connection=world, event_type="bill.create")
    assert delivery.status == "succeeded" and delivery.remote_id == item["_id"]

    change("bill", {"lines": [{"name": "Bill", "qty": "1", "unit_cost": {"amount": "1200.00"}}]})
    dispatcher.tick()
    (again,) = items_in("Bills")
    assert again["_id"] == item["_id"] and Decimal(again["Amount"]["text"]) == Decimal("1200.00")
    update = Delivery.objects.get(connection=world, event_type="bill.update")
    assert update.status == "succeeded" and update.remote_id == item["_id"]
    assert RecordLink.objects.filter(connection=world, source_type="bill").count() == 1


def test_an_expense_becomes_an_item_in_the_expenses_group_and_a_change_updates_it(world):
    category = next(str(r.data["id"]) for r in rows(books(), "category") if r.data["category"] == "Travel")
    console("expense", vendor="Airline", amount="450.00", categoryid=category, date="2026-11-20")
    dispatcher.tick()
    (item,) = items_in("Expenses")
    assert item["_name"] == "Expense · Airline"
    assert item["Vendor"]["text"] == "Airline" and item["Date"]["text"] == "2026-11-20"
    assert Decimal(item["Amount"]["text"]) == Decimal("450.00")
    assert items_in("Bills") == []  # its own group, not the bills'

    change("expense", {"vendor": "Northwind Air", "amount": {"amount": "475.00"}})
    dispatcher.tick()
    (again,) = items_in("Expenses")
    assert again["_id"] == item["_id"] and again["Vendor"]["text"] == "Northwind Air"
    assert Decimal(again["Amount"]["text"]) == Decimal("475.00")
    assert Delivery.objects.filter(connection=world).exclude(status="succeeded").count() == 0
