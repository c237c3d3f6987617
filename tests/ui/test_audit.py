"""The audit browser: filters, keyset pages, the timeline, payloads for admins, replay one or in bulk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import Delivery
from tests.conftest import client_for
from tests.factories import AuditRecordFactory, ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(tenant_a):
    return ConnectionFactory(tenant=tenant_a, provider="freshbooks", name="Demo Books")


def events_on(page) -> list[str]:
    return [e.invoice_number for e in page.context["events"]]


def test_it_filters_by_text_type_status_provider_and_dates(books, admin_a):
    now = timezone.now()
    old = InboundEventFactory(
        connection=books,
        invoice_number="0000001",
        counterparty="Northwind Traders",
        received_at=now - timedelta(days=10),
    )
    paid = InboundEventFactory(
        connection=books,
        invoice_number="0000002",
        event_type="payment.create",
        counterparty="Globex",
        object_id="777123",
    )
    failed = InboundEventFactory(connection=books, invoice_number="0000003", status="failed", counterparty="Initech")
    DeliveryFactory(event=paid, status="succeeded")
    client = client_for(admin_a)
    url = reverse("audit-events")
    assert events_on(client.get(url)) == ["0000003", "0000002", "0000001"]
    assert events_on(client.get(url, {"q": "northwind"})) == ["0000001"]
    assert events_on(client.get(url, {"q": "#0000002"})) == ["0000002"]
    assert events_on(client.get(url, {"q": "777123"})) == ["0000002"]  # FreshBooks object id
    assert events_on(client.get(url, {"event_type": "freshbooks:payment.create"})) == ["0000002"]
    assert events_on(client.get(url, {"status": "failed"})) == ["0000003"]
    assert events_on(client.get(url, {"delivery": "succeeded"})) == ["0000002"]
    assert events_on(client.get(url, {"provider": "testsink"})) == ["0000002"]  # delivered to the sink
    assert len(events_on(client.get(url, {"provider": "freshbooks"}))) == 3  # the source
    day = (now - timedelta(days=10)).date().isoformat()
    assert events_on(client.get(url, {"since": day, "until": day})) == ["0000001"]
    assert old and failed


def test_a_backwards_date_range_is_explained_next_to_the_field(books, admin_a):
    page = client_for(admin_a).get(reverse("audit-events"), {"since": "2026-05-02", "until": "2026-05-01"})
    assert b"The end date is before the start date." in page.content


def test_it_pages_with_a_keyset_cursor_without_gaps_or_repeats(books, admin_a):
    now = timezone.now()
    for n in range(120):
        # Pairs share a timestamp: the cursor must break ties by id.
        InboundEventFactory(connection=books, invoice_number=f"N{n:04d}", received_at=now - timedelta(seconds=n // 2))
    client = client_for(admin_a)
    seen, query = [], {}
    for _ in range(5):
        page = client.get(reverse("audit-events"), query)
        seen += events_on(page)
        if not page.context["next_query"]:
            break
        query = dict(pair.split("=") for pair in page.context["next_query"].split("&"))
        from urllib.parse import unquote

        query = {k: unquote(v) for k, v in query.items()}
    assert len(seen) == 120 and len(set(seen)) == 120


def test_the_event_page_tells_the_story_with_remote_ids(books, admin_a):
    event = InboundEventFactory(
        connection=books,
        invoice_number="0000042",
        counterparty="Northwind Traders",
        amount=Decimal("6000"),
        currency="USD",
    )
    delivery = DeliveryFactory(event=event, status="succeeded", remote_id="1712345678.000100")
    t = timezone.now()
    for n, (kind, outcome, message, remote) in enumerate(
        [
            ("webhook.accepted", "ok", "signature verified", ""),
            ("event.enriched", "ok", "fetched invoice 0000042", ""),
            ("delivery", "retry", "attempt 1 failed: HTTP 503; retrying in 30s", ""),
            ("delivery", "ok", "delivered", "1712345678.000100"),
        ]
    ):
        AuditRecordFactory(
            tenant=event.tenant,
            event=event,
            delivery=delivery if kind == "delivery" else None,
            kind=kind,
            outcome=outcome,
            message=message,
            remote_id=remote,
            created_at=t + timedelta(seconds=n),
        )
    page = client_for(admin_a).get(reverse("audit-event", args=[event.pk])).content.decode()
    order = [page.index(s) for s in ("Received and verified", "Enriched", "attempt 1 failed", "written as <code>17123")]
    assert order == sorted(order)
    assert "Northwind Traders" in page and "6,000.00 USD" in page


def test_payloads_are_for_admins_only(books, admin_a, viewer_a):
    event = InboundEventFactory(connection=books)
    event.payload = {"invoice_number": "0000042", "note": "payload-marker", "access_token": "should-not-show"}
    event.save()
    url = reverse("audit-event", args=[event.pk])
    admin_page = client_for(admin_a).get(url).content.decode()
    assert "payload-marker" in admin_page and "should-not-show" not in admin_page  # redacted even for admins
    viewer_page = client_for(viewer_a).get(url).content.decode()
    assert "payload-marker" not in viewer_page and "Only admins of Acme Ltd can view payloads." in viewer_page


def test_a_viewer_sees_replay_disabled_and_why(books, viewer_a):
    event = InboundEventFactory(connection=books)
    DeliveryFactory(event=event, status="failed")
    page = client_for(viewer_a).get(reverse("audit-event", args=[event.pk])).content.decode()
    assert 'disabled aria-describedby="ro-replay">Replay' in page
    assert "Only admins of Acme Ltd can replay deliveries." in page


def test_bulk_replay_counts_first_and_never_resends_what_succeeded(books, admin_a, tenant_a):
    sink = ConnectionFactory(tenant=tenant_a, provider="testsink", credentials={"api_key": "k"}, config={})
    other = ConnectionFactory(
        tenant=tenant_a, provider="testsink", name="Other sink", credentials={"api_key": "k"}, config={}
    )
    invoices = [InboundEventFactory(connection=books, event_type="invoice.create") for _ in range(3)]
    payment = InboundEventFactory(connection=books, event_type="payment.create")
    failed = [DeliveryFactory(event=e, connection=sink, status="failed") for e in invoices]
    done = DeliveryFactory(event=payment, connection=sink, status="succeeded")
    elsewhere = DeliveryFactory(event=invoices[0], connection=other, status="failed")
    client = client_for(admin_a)
    url = reverse("audit-replay-failed")
    confirm = client.get(url, {"event_type": "invoice.create", "connection": sink.pk})
    assert confirm.context["count"] == 3 and b"Replay 3 failed deliveries" in confirm.content
    for d in failed:
        d.refresh_from_db()
        assert d.replays == 0  # counting changes nothing

    from unittest import mock

    with mock.patch("mlconnector.pipeline.dispatcher.enqueue_deliveries"):  # queued, not sent, in this test
        response = client.post(url, {"event_type": "invoice.create", "connection": sink.pk})
    assert response.status_code == 302 and "event_type=freshbooks%3Ainvoice.create" in response["Location"]
    assert {d.pk for d in Delivery.objects.filter(replays=1)} == {d.pk for d in failed}
    done.refresh_from_db()
    elsewhere.refresh_from_db()
    assert done.replays == 0 and done.status == "succeeded" and elsewhere.replays == 0
    assert AuditRecord.objects.filter(kind="replay").count() == 3


def test_filtering_by_the_source_provider_replays_the_failed_deliveries_of_its_events(books, admin_a, tenant_a):
    event = InboundEventFactory(connection=books)
    failed = DeliveryFactory(event=event, status="failed")
    client = client_for(admin_a)
    url = reverse("audit-replay-failed")
    assert client.get(url, {"provider": "freshbooks"}).context["count"] == 1
    assert client.get(url, {"provider": "freshbooks", "delivery": "failed"}).context["count"] == 1
    assert client.get(url, {"provider": "freshbooks", "event_type": "payment.create"}).context["count"] == 0
    from unittest import mock

    with mock.patch("mlconnector.pipeline.dispatcher.enqueue_deliveries"):
        client.post(url, {"provider": "freshbooks"})
    failed.refresh_from_db()
    assert failed.replays == 1 and failed.status == "pending"
