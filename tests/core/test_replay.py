"""Replay: failed work goes again; what already succeeded is never repeated unless asked."""

import pytest

from integrations.sandbox import faults
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries, replay_events
from mlconnector.webhooks.processing import process_inbound
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import sink_connection, stored_event
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(tenant_a):
    source = sandbox_source(tenant_a)
    sink = sink_connection(tenant_a)
    return source, sink


def test_it_replays_a_failed_delivery_and_records_who_pressed_it(setup, admin_a):
    source, _ = setup
    faults.add("testsink", status=422, match="/effects")
    process_inbound(stored_event(source).pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    result = replay_deliveries(Delivery.objects.all(), actor=admin_a)
    assert result.queued == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.replays == 1
    replay = AuditRecord.objects.get(kind=AuditRecord.Kind.REPLAY)
    assert replay.actor == admin_a and replay.delivery == delivery
    assert effect_count() == 1


def test_it_does_not_resend_a_succeeded_delivery_in_a_bulk_replay(setup, admin_a):
    source, _ = setup
    process_inbound(stored_event(source).pk)
    result = replay_deliveries(Delivery.objects.all(), actor=admin_a)
    assert result.queued == [] and len(result.skipped) == 1
    assert effect_count() == 1


def test_it_resends_a_succeeded_delivery_only_when_asked(setup, admin_a):
    source, _ = setup
    process_inbound(stored_event(source).pk)
    replay_deliveries(Delivery.objects.all(), actor=admin_a, resend=True)
    assert effect_count() == 2
    assert "resend" in AuditRecord.objects.get(kind=AuditRecord.Kind.REPLAY).message


def test_a_replay_after_a_lost_response_produces_no_second_effect(setup, admin_a):
    source, _ = setup
    process_inbound(stored_event(source).pk)
    # As if the worker died after the remote write but before recording it.
    Delivery.objects.update(status="failed", remote_id="")
    replay_deliveries(Delivery.objects.all(), actor=admin_a)
    assert Delivery.objects.get().status == "succeeded"
    assert effect_count() == 1


def test_it_reprocesses_failed_events(setup, admin_a):
    source, _ = setup
    event = stored_event(source, status="failed")
    result = replay_events(type(event).objects.all(), actor=admin_a)
    assert result.queued == [event.pk]
    from mlconnector.pipeline import dispatcher

    dispatcher.tick()
    event.refresh_from_db()
    assert event.status == "processed"
