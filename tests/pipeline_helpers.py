"""Helpers to build a tenant with a FreshBooks source and a test-sink target, and run the pipeline."""

from __future__ import annotations

from django.utils import timezone

from mlconnector.connections.models import Connection
from mlconnector.webhooks.models import InboundEvent
from tests.factories import ConnectionFactory
from tests.testsink.sandbox import API_KEY

INVOICE = {
    "id": 4001,
    "invoiceid": 4001,
    "invoice_number": "0000042",
    "organization": "Northwind Traders",
    "amount": {"amount": "6000.00", "code": "USD"},
    "outstanding": {"amount": "6000.00", "code": "USD"},
    "status": 2,
    "v3_status": "sent",
    "due_date": "2026-12-21",
    "updated": "2026-11-21 09:00:00",
}


def sink_connection(tenant, **kwargs) -> Connection:
    return ConnectionFactory(tenant=tenant, provider="testsink", credentials={"api_key": API_KEY}, config={}, **kwargs)


def stored_event(source: Connection, record=None, event_type="invoice.create", object_id=None, **kwargs):
    """An event as the receiver (or the poller, when `record` is given) would have stored it."""
    record = dict(INVOICE if record is None else record)
    now = timezone.now()
    event = InboundEvent.objects.create(
        tenant=source.tenant,
        connection=source,
        provider=source.provider,
        event_type=event_type,
        object_id=str(object_id or record.get("id")),
        dedupe_key=f"test-{now.timestamp()}-{object_id}",
        payload=record,
        next_attempt_at=now,
        received_at=now,
        **kwargs,
    )
    from mlconnector.search import index_event

    index_event(event)  # searchable, as the pipeline leaves a processed event
    return event


def audit_messages(**filters) -> list[str]:
    """Messages of the audit rows matching `filters`, newest first. Messages are encrypted, so tests
    match their words in Python, as a person reading the audit log does."""
    from mlconnector.audit.models import AuditRecord

    return [r.message for r in AuditRecord.objects.filter(**filters).order_by("-id")]
