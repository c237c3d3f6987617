"""process_inbound and deliver: enrichment, fan-out, idempotency, retries, parking, crashes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.sandbox import faults
from mlconnector.audit.models import AuditRecord
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.delivery import deliver
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.webhooks.processing import process_inbound
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import INVOICE, sink_connection, stored_event
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(tenant_a):
    return sandbox_source(tenant_a)


@pytest.fixture
def sink(tenant_a):
    return sink_connection(tenant_a)


def test_it_fans_an_event_out_to_every_consuming_connection_and_delivers_it(source, sink, tenant_b):
    other_tenant_sink = sink_connection(tenant_b)
    event = stored_event(source)
    process_inbound(event.pk)  # django-q2 runs inline in tests: the deliveries run too
    event.refresh_from_db()
    assert event.status == "processed"
    assert (event.invoice_number, event.counterparty, event.amount, event.currency) == (
        "0000042",
        "Northwind Traders",
        Decimal("6000.00"),
        "USD",
    )
    delivery = Delivery.objects.get()
    assert delivery.connection == sink and delivery.status == "succeeded" and delivery.remote_id
    assert not Delivery.objects.filter(connection=other_tenant_sink).exists()
    assert effect_count() == 1
    kinds = list(AuditRecord.objects.filter(event=event).values_list("kind", flat=True))
    for kind in ("webhook.accepted", "event.enriched", "event.fanned_out", "http", "delivery"):
        assert kind in kinds


def test_it_treats_an_unchanged_record_as_a_no_op(source, sink):
    process_inbound(stored_event(source).pk)
    again = stored_event(source, event_type="invoice.update")
    process_inbound(again.pk)
    again.refresh_from_db()
    assert again.status == "duplicate"
    assert Delivery.objects.count() == 1 and effect_count() == 1


def test_it_ignores_an_older_version_fetched_after_a_newer_one(source, sink):
    process_inbound(stored_event(source, record={**INVOICE, "updated": "2026-11-21 10:00:00"}).pk)
    late = stored_event(
        source, record={**INVOICE, "updated": "2026-11-21 09:30:00", "status": 3}, event_type="invoice.update"
    )
    process_inbound(late.pk)
    late.refresh_from_db()
    assert late.status == "duplicate"


def test_it_delivers_a_changed_record_as_an_update_of_the_same_remote_record(source, sink):
    process_inbound(stored_event(source).pk)
    process_inbound(
        stored_event(
            source, record={**INVOICE, "status": 4, "updated": "2026-11-22 08:00:00"}, event_type="invoice.update"
        ).pk
    )
    assert Delivery.objects.filter(status="succeeded").count() == 2
    assert RecordLink.objects.filter(connection=sink, source_id="4001").count() == 1


def test_it_ignores_event_types_it_does_not_know(source, sink):
    event = stored_event(source, event_type="estimate.create")
    assert process_inbound(event.pk) == "ignored"
    assert not Delivery.objects.exists()


def test_it_does_not_run_the_same_event_twice(source, sink):
    event = stored_event(source)
    process_inbound(event.pk)
    assert process_inbound(event.pk) == "not due or already taken"
    assert effect_count() == 1


def test_it_retries_a_transient_failure_with_backoff(source, sink):
    faults.add("testsink", status=503, match="/effects", times=10)
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying" and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()
    assert "503" in delivery.last_error
    assert effect_count() == 0


def test_it_honours_retry_after_as_the_minimum_wait(source, sink):
    faults.add("testsink", status=429, headers={"Retry-After": "3600"}, match="/effects")
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying"
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=3500)


def test_it_fails_fast_on_a_permanent_error(source, sink):
    faults.add("testsink", status=422, body={"error": "invalid"}, match="/effects")
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 1
    sink.refresh_from_db()
    assert sink.last_error


def test_it_gives_up_after_the_horizon_and_waits_for_replay(source, sink, settings):
    faults.add("testsink", status=500, match="/effects", times=100)
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        first_attempt_at=timezone.now() - timedelta(seconds=settings.MLCONNECTOR_RETRY_HORIZON_SECONDS + 1),
        next_attempt_at=timezone.now(),
    )
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_it_parks_deliveries_when_the_target_needs_reconnecting_and_resumes_them(source, sink):
    faults.add("testsink", status=401, match="/effects")
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    sink.refresh_from_db()
    assert sink.status == "needs_reconnect"
    assert delivery.status == "waiting" and delivery.attempts == 0
    services.set_status(sink, Connection.Status.ACTIVE, reason="reconnected")
    dispatcher.tick()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert effect_count() == 1


def test_it_holds_deliveries_while_paused_and_drains_them_on_resume(source, sink):
    services.set_status(sink, Connection.Status.PAUSED)
    process_inbound(stored_event(source).pk)
    assert Delivery.objects.get().status == "waiting"
    services.set_status(sink, Connection.Status.ACTIVE)
    dispatcher.tick()
    assert Delivery.objects.get().status == "succeeded"


def test_it_waits_when_the_source_connection_needs_reconnecting(source, sink):
    services.mark_needs_reconnect(source, "token revoked")
    event = stored_event(source)
    assert process_inbound(event.pk) == "waiting"
    services.set_status(source, Connection.Status.ACTIVE)
    dispatcher.tick()
    event.refresh_from_db()
    assert event.status == "processed"


def test_the_dispatcher_recovers_work_whose_worker_died(source, sink):
    event = stored_event(source)
    process_inbound(event.pk)
    delivery = Delivery.objects.get()
    # As if a worker claimed a new attempt and was killed before finishing.
    Delivery.objects.filter(pk=delivery.pk).update(
        status="running", attempts=2, lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert dispatcher.recover_abandoned(timezone.now()) == 1
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and delivery.worker_deaths == 1
    assert AuditRecord.objects.filter(kind="worker.died", delivery=delivery).exists()


def test_the_dispatcher_stops_retrying_a_delivery_that_keeps_killing_workers(source, sink, settings):
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="running",
        worker_deaths=settings.MLCONNECTOR_MAX_WORKER_DEATHS - 1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    dispatcher.recover_abandoned(timezone.now())
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "worker died" in delivery.last_error


def test_the_dispatcher_hands_out_stored_events_and_due_retries(source, sink):
    event = stored_event(source)
    counts = dispatcher.tick()
    assert counts["events"] == 1
    event.refresh_from_db()
    assert event.status == "processed"
    assert Delivery.objects.get().status == "succeeded"


def test_the_dispatcher_does_not_hand_out_the_same_work_twice_in_a_row(source, sink, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    stored_event(source)
    from unittest import mock

    with mock.patch("mlconnector.pipeline.dispatcher.async_task") as enqueue:
        dispatcher.tick()
        dispatcher.tick()
    handed_out = [c.args for c in enqueue.call_args_list if c.args[0] == dispatcher.PROCESS]
    assert len(handed_out) == 1  # (the connection's poll job goes out too, once)


def test_disconnecting_a_target_fails_its_unfinished_deliveries_visibly(source, sink):
    services.set_status(sink, Connection.Status.PAUSED)
    process_inbound(stored_event(source).pk)
    services.set_status(sink, Connection.Status.DISCONNECTED)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "disconnected" in delivery.last_error


def test_a_target_with_no_stored_credentials_is_marked_and_its_delivery_waits(source, sink):
    Connection.objects.filter(pk=sink.pk).update(credentials={})
    process_inbound(stored_event(source).pk)
    sink.refresh_from_db()
    assert sink.status == "needs_reconnect"
    assert Delivery.objects.get().status == "waiting"


def test_a_named_wait_is_kept_exactly_and_uses_no_attempt(source, sink):
    faults.add("testsink", status=429, headers={"Retry-After": "2"}, match="/effects")
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying" and delivery.attempts == 0
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 1.0 < wait <= 2.0
