"""A status a person changed on Monday, about to be overwritten by FreshBooks: read first, said in the
audit trail in words, kept for the item's page — at the cost of one small read, only when a status is
about to be overwritten."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from integrations.monday import sandbox
from integrations.monday.models import ItemDrift
from mlconnector.pipeline.delivery import deliver
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from tests.conftest import client_for
from tests.factories import ConnectionFactory, DeliveryFactory
from tests.monday.helpers import INVOICES, connect_monday, invoice_map_form, save_map
from tests.pipeline_helpers import (
    INVOICE,
    audit_messages,  # noqa: E402
    stored_event,
)

pytestmark = pytest.mark.django_db

PAID = {**INVOICE, "v3_status": "paid", "outstanding": {"amount": "0.00", "code": "USD"}, "updated": "2026-11-25"}


@pytest.fixture
def setup(tenant_a, admin_a):
    sandbox.reset()
    cache.clear()
    client = client_for(admin_a)
    monday = connect_monday(client)
    save_map(client, monday, "invoice", invoice_map_form())
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    return client, monday, source


def run(monday, source, record, event_type="invoice.update", **delivery_fields) -> Delivery:
    event = stored_event(source, record=record, event_type=event_type, invoice_number=record.get("invoice_number", ""))
    delivery = DeliveryFactory(event=event, connection=monday, status="pending", **delivery_fields)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def the_item() -> dict:
    (item,) = sandbox.items(INVOICES)
    return item


def a_person_sets_the_status(label: str) -> None:
    sandbox.set_value(INVOICES, the_item()["id"], sandbox.board(INVOICES)["column_ids"]["Status"], {"label": label})


def calls(operation: str) -> int:
    return audit_messages(kind="http", provider="monday").count(operation)


def test_a_status_a_person_changed_on_monday_is_said_in_words_before_freshbooks_overwrites_it(setup):
    _, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    a_person_sets_the_status("Stuck")
    delivery = run(monday, source, PAID)
    assert delivery.status == "succeeded" and the_item()["by_title"]["Status"]["text"] == "Paid"

    drift = ItemDrift.objects.get()
    assert (drift.column_title, drift.monday_value, drift.last_written, drift.new_value) == (
        "Status",
        "Stuck",
        "Sent",
        "Paid",
    )
    assert drift.item_id == the_item()["id"] and drift.delivery == delivery and drift.tenant == monday.tenant
    assert drift.item_name == "Invoice 0000042 · Northwind Traders" and drift.source_id == "4001"
    (said,) = [m for m in audit_messages(delivery=delivery) if m.startswith("Status of Monday item")]
    assert said == (
        f"Status of Monday item {drift.item_id} (Invoice 0000042 · Northwind Traders): Monday showed “Stuck”, "
        "set by a person; now “Paid” from FreshBooks (ml-connector last wrote “Sent”)."
    )
    (written,) = [m for m in audit_messages(delivery=delivery) if m.startswith("Monday item")]
    assert "Status (status) = Paid (was Stuck)" in written  # what the write replaced, as Monday showed it


def test_no_drift_is_reported_when_monday_still_shows_what_was_written(setup):
    _, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    before = calls("ItemValues")
    delivery = run(monday, source, PAID)
    assert calls("ItemValues") == before + 1  # the status was about to be overwritten: looked first
    assert not ItemDrift.objects.exists()
    assert (
        "Status (status) = Paid (was Sent)"
        in [m for m in audit_messages(delivery=delivery) if m.startswith("Monday item")][0]
    )


def test_it_reads_nothing_more_unless_a_status_is_about_to_be_overwritten(setup):
    """The cost: creates, unchanged records and updates that leave the status alone make no extra call."""
    _, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    assert calls("ItemValues") == 0
    a_person_sets_the_status("Stuck")
    run(monday, source, {**INVOICE, "notes": "not mapped"})  # nothing to write
    run(monday, source, {**INVOICE, "amount": {"amount": "6500.00", "code": "USD"}})  # amount only
    assert calls("ItemValues") == 0 and calls("ChangeValues") == 1
    assert the_item()["by_title"]["Status"]["text"] == "Stuck"  # the person's label stays: not ours to write
    assert not ItemDrift.objects.exists()


def test_a_person_clearing_the_status_is_a_drift_too(setup):
    _, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    sandbox.set_value(INVOICES, the_item()["id"], sandbox.board(INVOICES)["column_ids"]["Status"], None)
    run(monday, source, PAID)
    drift = ItemDrift.objects.get()
    assert drift.monday_value == "" and drift.new_value == "Paid"
    assert drift.sentence() == "Monday showed no label, set by a person; now “Paid” from FreshBooks " + (
        "(ml-connector last wrote “Sent”)."
    )


def test_a_replay_that_restores_freshbooks_says_what_it_overwrote(setup, admin_a):
    _, monday, source = setup
    created = run(monday, source, INVOICE, "invoice.create")
    a_person_sets_the_status("Stuck")
    replay_deliveries(Delivery.objects.filter(pk=created.pk), actor=admin_a, resend=True)
    deliver(created.pk)
    assert the_item()["by_title"]["Status"]["text"] == "Sent"
    drift = ItemDrift.objects.get()
    assert (drift.monday_value, drift.new_value) == ("Stuck", "Sent")


def test_the_item_page_lists_the_drifts_and_what_was_last_written(setup, admin_a):
    client, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    a_person_sets_the_status("Stuck")
    run(monday, source, PAID)
    item_id = the_item()["id"]
    page = client.get(reverse("monday-item", args=[monday.pk, item_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Invoice 0000042 · Northwind Traders" in html and "Invoices" in html
    assert "Stuck" in html and "set by a person" in html
    assert page.context["drifts"][0].new_value == "Paid"
    assert ("Status", "Paid") in page.context["written"]
    overview = client.get(reverse("monday-maps", args=[monday.pk])).content.decode()
    assert "Changed on Monday" in overview and reverse("monday-item", args=[monday.pk, item_id]) in overview


def test_an_item_page_for_an_item_ml_connector_never_wrote_is_not_found(setup):
    client, monday, _ = setup
    assert client.get(reverse("monday-item", args=[monday.pk, "12345"])).status_code == 404


def test_a_payment_seen_without_its_invoice_keeps_the_items_good_name(setup):
    """An invoice seen through its payment is incomplete: it must not rename the item, nor the drift."""
    client, monday, source = setup
    run(monday, source, INVOICE, "invoice.create")
    a_person_sets_the_status("Stuck")
    payment = {"id": 555, "invoiceid": INVOICE["id"], "amount": {"amount": "6000.00", "code": "USD"}, "type": "ACH"}
    run(monday, source, payment, "payment.create")
    drift = ItemDrift.objects.get()
    assert drift.item_name == "Invoice 0000042 · Northwind Traders" and drift.new_value == "Paid"
    page = client.get(reverse("monday-item", args=[monday.pk, the_item()["id"]]))
    assert page.context["name"] == "Invoice 0000042 · Northwind Traders"
