"""Sync rules, one delivery at a time through deliver(): upserts, look-ups, no-ops, drift and limits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.monday import sandbox
from integrations.monday.models import BoardMap
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.delivery import deliver
from mlconnector.pipeline.models import Delivery, RecordLink
from tests.conftest import client_for
from tests.factories import ConnectionFactory, DeliveryFactory
from tests.monday.helpers import INVOICES, PAYMENTS, connect_monday, invoice_map_form, payment_map_form, save_map
from tests.pipeline_helpers import INVOICE, audit_messages, stored_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(tenant_a, admin_a):
    sandbox.reset()
    cache.clear()
    client = client_for(admin_a)
    monday = connect_monday(client)
    save_map(client, monday, "invoice", invoice_map_form())
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    return client, monday, source


def run(monday, source, record, event_type="invoice.create", **delivery_fields) -> Delivery:
    event = stored_event(
        source, record=record, event_type=event_type, invoice_number=str(record.get("invoice_number", ""))
    )
    delivery = DeliveryFactory(event=event, connection=monday, status="pending", **delivery_fields)
    assert deliver(delivery.pk) in ("succeeded", "nothing to send", "failed", "retrying", "deferred", "waiting")
    delivery.refresh_from_db()
    return delivery


def invoice_items() -> list[dict]:
    return [i["by_title"] | {"_id": i["id"]} for i in sandbox.items(INVOICES)]


def test_an_update_writes_only_what_changed_and_audits_the_previous_value(setup):
    _, monday, source = setup
    run(monday, source, INVOICE)
    mutations = sandbox.stats()["mutations"]
    changed = {**INVOICE, "amount": {"amount": "6500.00", "code": "USD"}, "updated": "2026-11-22 09:00:00"}
    delivery = run(monday, source, changed, "invoice.update")
    assert delivery.status == "succeeded"
    assert sandbox.stats()["mutations"] == mutations + 1
    (item,) = invoice_items()
    assert Decimal(item["Amount"]["text"]) == Decimal("6500.00")
    written = AuditRecord.objects.filter(delivery=delivery, kind="delivery", outcome="info").get()
    assert "Amount (numeric_mkq2amt4) = 6500.00 (was 6000.00)" in written.message
    assert list(written.payload["written"]) == ["Amount (numeric_mkq2amt4)"]


def test_an_update_that_changes_nothing_sends_nothing(setup):
    _, monday, source = setup
    run(monday, source, INVOICE)
    mutations = sandbox.stats()["mutations"]
    delivery = run(monday, source, {**INVOICE, "notes": "not mapped"}, "invoice.update")
    assert delivery.status == "succeeded" and sandbox.stats()["mutations"] == mutations
    assert "already up to date" in AuditRecord.objects.filter(delivery=delivery, kind="delivery").last().message


def test_a_missing_link_is_found_again_by_invoice_number(setup):
    _, monday, source = setup
    first = run(monday, source, INVOICE)
    RecordLink.objects.all().delete()  # e.g. a restore from an older backup
    delivery = run(monday, source, {**INVOICE, "v3_status": "viewed"}, "invoice.update")
    assert delivery.status == "succeeded" and delivery.remote_id == first.remote_id
    assert len(invoice_items()) == 1
    assert RecordLink.objects.get(source_type="invoice").remote_id == first.remote_id


def test_a_retried_create_looks_before_creating_a_second_item(setup):
    _, monday, source = setup
    first = run(monday, source, INVOICE)
    RecordLink.objects.all().delete()  # as if the create's response had been lost
    again = run(monday, source, INVOICE, attempts=1)  # this run is attempt 2
    assert again.remote_id == first.remote_id and len(invoice_items()) == 1


def test_record_types_without_a_board_have_nothing_to_send_and_say_why(setup):
    _, monday, source = setup
    delivery = run(monday, source, {"id": 7, "bill_number": "B-7"}, "bill.create")
    assert delivery.status == "skipped" and delivery.get_status_display() == "Nothing to send"
    assert any("no Monday board is chosen for bills" in m for m in audit_messages(delivery=delivery))


def test_a_payment_without_its_invoice_marks_the_item_paid_and_clears_nothing(setup):
    client, monday, source = setup
    save_map(client, monday, "payment", payment_map_form())
    run(monday, source, INVOICE)
    payment = {
        "id": 555,
        "invoiceid": INVOICE["id"],
        "amount": {"amount": "6000.00", "code": "USD"},
        "date": "2026-11-30",
        "type": "ACH",
    }
    delivery = run(monday, source, payment, "payment.create")
    assert delivery.status == "succeeded", delivery.last_error
    (item,) = invoice_items()
    assert item["Status"]["text"] == "Paid" and item["Client"]["text"] == "Northwind Traders"
    (paid,) = sandbox.items(PAYMENTS)
    assert paid["by_title"]["Method"]["text"] == "ACH"


def test_a_retyped_column_fails_the_next_delivery_before_anything_is_sent(setup):
    _, monday, source = setup
    amount = sandbox.board(INVOICES)["column_ids"]["Amount"]
    sandbox.retype_column(INVOICES, amount, "text")
    cache.clear()  # the board's cached structure has expired (MONDAY_BOARD_CACHE_SECONDS)
    mutations = sandbox.stats().get("mutations", 0)
    delivery = run(monday, source, INVOICE)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert f"The column “Amount” (id {amount}), where Amount goes, is now a text column" in delivery.last_error
    assert sandbox.stats().get("mutations", 0) == mutations and invoice_items() == []
    assert "Amount" in BoardMap.objects.get(record_type="invoice").problem


def test_an_exhausted_budget_defers_the_delivery_to_the_reset_without_using_an_attempt(setup, settings):
    settings.MLCONNECTOR_MAX_INLINE_WAIT = 0.5
    _, monday, source = setup
    run(monday, source, INVOICE)  # learns the cost of a create
    sandbox.set_complexity_budget(1)  # the window is spent: Monday will refuse
    cache.clear()
    delivery = run(monday, source, {**INVOICE, "id": 4002, "invoice_number": "0000043"})
    assert delivery.status == "retrying" and delivery.attempts == 0
    assert "Complexity budget exhausted" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timezone.timedelta(seconds=30)


def test_no_token_reaches_the_audit_trail(setup):
    _, monday, source = setup
    run(monday, source, INVOICE)
    token = monday.secrets()["access_token"]
    for row in AuditRecord.objects.all():
        assert token not in f"{row.message} {row.url} {row.payload}"
