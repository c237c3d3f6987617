"""The `Waiting` seam: a target parks a delivery for a reason it watches itself, and resumes it later."""

from __future__ import annotations

import pytest

from mlconnector.connections.models import Connection
from mlconnector.http import Waiting
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.resume import resume_deliveries
from mlconnector.webhooks.processing import process_inbound
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import (
    audit_messages,  # noqa: E402
    sink_connection,
    stored_event,
)
from tests.testsink import integration as sink_module
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def parked(tenant_a, monkeypatch):
    """An invoice whose delivery the sink parks: 'the channel is archived'."""
    source, sink = sandbox_source(tenant_a), sink_connection(tenant_a)
    write = sink_module.TestSink.write

    def refuse(self, event, delivery, audit):
        raise Waiting("waiting for #exec-alerts: the channel is archived", code="is_archived")

    monkeypatch.setattr(sink_module.TestSink, "write", refuse)
    process_inbound(stored_event(source).pk)
    monkeypatch.setattr(sink_module.TestSink, "write", write)
    return Delivery.objects.get(), sink


def test_it_parks_the_delivery_without_using_an_attempt_or_blaming_the_connection(parked):
    delivery, sink = parked
    assert delivery.status == "waiting" and delivery.attempts == 0
    assert "the channel is archived" in delivery.last_error
    sink.refresh_from_db()
    assert sink.status == Connection.Status.ACTIVE  # not "needs reconnect": the token is fine
    assert any("archived" in m for m in audit_messages(delivery=delivery, outcome="waiting"))
    assert effect_count() == 0


def test_resuming_sends_it_once_and_says_why_in_the_audit_trail(parked):
    delivery, _ = parked
    assert resume_deliveries(Delivery.objects.filter(pk=delivery.pk), "#exec-alerts is usable again") == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and effect_count() == 1  # q2 runs inline in tests
    assert "resumed: #exec-alerts is usable again" in audit_messages(delivery=delivery)
    # Resuming again finds nothing waiting: nothing is sent twice.
    assert resume_deliveries(Delivery.objects.filter(pk=delivery.pk), "again") == []
    assert effect_count() == 1
