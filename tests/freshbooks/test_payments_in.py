"""FreshBooks as a target: a payment collected elsewhere is recorded against its invoice, through the
same delivery pipeline, audit and replay as every target, and never twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.freshbooks.integration import FreshBooks
from integrations.freshbooks.payments_in import marker
from integrations.freshbooks.sandbox.state import rows
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.webhooks.processing import process_inbound
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source
from tests.freshbooks.test_sandbox_api import new_invoice
from tests.pipeline_helpers import audit_messages, stored_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(tenant_a, monkeypatch):
    """A tenant's FreshBooks (as a target) and a payment source whose confirmed payments it records."""
    monkeypatch.setattr(
        FreshBooks,
        "sync_handlers",
        {**FreshBooks.sync_handlers, "testsource": {"payments.confirmed": "record_payment"}},
    )
    fb = sandbox_source(tenant_a)
    source = ConnectionFactory(tenant=tenant_a, provider="testsource", credentials={}, config={})
    return fb, source


def account():
    from integrations.sandbox.models import SandboxAccount

    return SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")


def collected(invoice: dict, amount: str, reference: str = "PM0001", **extra) -> dict:
    return {
        "freshbooks_invoice_id": invoice["id"],
        "reference": reference,
        "amount": amount,
        "currency": "USD",
        "date": "2026-11-30",
        "note": "Collected by direct debit",
        **extra,
    }


def confirm(source, payload) -> Delivery:
    event = stored_event(source, record=payload, event_type="payments.confirmed", object_id=payload["reference"])
    process_inbound(event.pk)
    return Delivery.objects.get(event=event)


def outcome(delivery: Delivery) -> str:
    """The message of the delivery's latest outcome row in the audit trail."""
    return AuditRecord.objects.filter(delivery=delivery, kind="delivery").order_by("-id").first().message


def fb_payments(invoice_id) -> list[dict]:
    return [r.data for r in rows(account(), "payment") if str(r.data.get("invoiceid")) == str(invoice_id)]


def invoice_now(invoice_id) -> dict:
    return next(r.data for r in rows(account(), "invoice") if r.data["id"] == invoice_id)


def test_it_records_a_collected_payment_against_its_invoice(books):
    fb, source = books
    invoice = new_invoice(account(), "120.00")
    delivery = confirm(source, collected(invoice, "120.00"))
    delivery.refresh_from_db()
    assert delivery.connection == fb and delivery.status == "succeeded", delivery.last_error
    (payment,) = fb_payments(invoice["id"])
    assert Decimal(payment["amount"]["amount"]) == Decimal("120.00") and payment["date"] == "2026-11-30"
    assert payment["type"] == "Bank Transfer" and marker("testsource", "PM0001") in payment["note"]
    assert delivery.remote_id == str(payment["id"])
    assert invoice_now(invoice["id"])["outstanding"]["amount"] == "0.00"
    assert any("recorded payment" in m for m in audit_messages(delivery=delivery, kind="delivery"))


def test_a_replay_never_records_the_payment_twice(books, admin_a):
    fb, source = books
    invoice = new_invoice(account(), "300.00")
    delivery = confirm(source, collected(invoice, "100.00"))
    replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=admin_a, resend=True)
    dispatcher.tick()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and "already in FreshBooks" in outcome(delivery)
    assert len(fb_payments(invoice["id"])) == 1


def test_a_lost_response_is_found_by_its_note_and_not_posted_again(books):
    fb, source = books
    invoice = new_invoice(account(), "300.00")
    # FreshBooks records the payment, but the answer never arrives (the worker times out).
    faults.add("freshbooks-after", kind=SandboxFault.Kind.TIMEOUT, match="POST", times=1)
    delivery = confirm(source, collected(invoice, "100.00"))
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert len(fb_payments(invoice["id"])) == 1
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    dispatcher.tick()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(fb_payments(invoice["id"])) == 1
    assert delivery.remote_id == str(fb_payments(invoice["id"])[0]["id"])


def test_it_records_no_more_than_is_outstanding_and_says_so(books):
    fb, source = books
    invoice = new_invoice(account(), "80.00")
    delivery = confirm(source, collected(invoice, "100.00"))
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert [p["amount"]["amount"] for p in fb_payments(invoice["id"])] == ["80.00"]
    assert "20.00 more was collected than was outstanding" in outcome(delivery)


def test_an_invoice_already_paid_in_freshbooks_gets_nothing(books):
    fb, source = books
    invoice = new_invoice(account(), "50.00")
    confirm(source, collected(invoice, "50.00", reference="PM0001"))
    second = confirm(source, collected(invoice, "50.00", reference="PM0002"))
    second.refresh_from_db()
    assert second.status == "succeeded" and "already paid in FreshBooks" in outcome(second)
    assert len(fb_payments(invoice["id"])) == 1


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"amount": "12.345"}, "not a positive amount in cents"),
        ({"amount": "-5"}, "not a positive amount in cents"),
        ({"date": "30/11/2026"}, "is not YYYY-MM-DD"),
        ({"freshbooks_invoice_id": ""}, "no FreshBooks invoice id"),
        ({"currency": "EUR"}, "in USD, the payment in EUR"),
    ],
)
def test_a_malformed_payment_fails_with_a_clear_reason_and_records_nothing(books, bad, words):
    fb, source = books
    invoice = new_invoice(account(), "120.00")
    delivery = confirm(source, collected(invoice, "120.00") | bad)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and words in delivery.last_error
    assert fb_payments(invoice["id"]) == []
