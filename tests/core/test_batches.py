"""A target that takes batches gets several due deliveries of one connection per call, and each
delivery succeeds, retries or fails on its own (a 207 multi-status), through the one pipeline."""

from __future__ import annotations

import pytest

from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.webhooks.processing import process_inbound
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import INVOICE
from tests.pipeline_helpers import stored_event as _stored
from tests.testsink.sandbox import API_KEY, batch_calls, effect_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(tenant_a):
    return sandbox_source(tenant_a)


@pytest.fixture
def batch_sink(tenant_a):
    return ConnectionFactory(tenant=tenant_a, provider="testbatch", credentials={"api_key": API_KEY}, config={})


def fan_out(source, object_ids) -> list[Delivery]:
    """Events processed (deliveries created) but not yet delivered: batched targets wait for the tick."""
    for n, object_id in enumerate(object_ids):
        record = {**INVOICE, "id": object_id, "invoice_number": f"00{n:05d}"}
        process_inbound(_stored(source, record=record, object_id=object_id).pk)
    return list(Delivery.objects.filter(provider="testbatch").order_by("pk"))


def test_it_sends_due_deliveries_of_one_connection_in_batches_of_the_targets_size(source, batch_sink):
    deliveries = fan_out(source, ["1", "2", "3", "4", "5"])
    assert [d.status for d in deliveries] == ["pending"] * 5  # nothing sent one by one
    dispatcher.tick()
    assert batch_calls() == [3, 2]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert effect_count() == 5
    row = AuditRecord.objects.filter(kind="delivery", delivery=deliveries[0]).get()
    assert "in a batch of 3" in row.message


def test_each_item_of_a_batch_succeeds_retries_or_fails_on_its_own(source, batch_sink):
    fan_out(source, ["10", "11-reject", "12-flaky"])
    dispatcher.tick()
    by_object = {d.event.object_id: d for d in Delivery.objects.select_related("event")}
    assert by_object["10"].status == "succeeded" and by_object["10"].remote_id
    assert by_object["11-reject"].status == "failed" and "not acceptable" in by_object["11-reject"].last_error
    assert by_object["12-flaky"].status == "retrying" and by_object["12-flaky"].attempts == 1
    assert effect_count() == 1

    # The retry goes out alone when it is due; the failed item waits for a person.
    Delivery.objects.filter(pk=by_object["12-flaky"].pk).update(next_attempt_at=by_object["10"].created_at)
    dispatcher.tick()
    assert Delivery.objects.get(pk=by_object["12-flaky"].pk).status == "succeeded"
    assert batch_calls() == [3, 1] and effect_count() == 2


def test_an_error_of_the_whole_call_applies_to_every_item(source, batch_sink):
    fan_out(source, ["20", "21"])
    faults.add("testsink", kind=SandboxFault.Kind.STATUS, status=503, times=3)  # past the inline retries
    dispatcher.tick()
    assert list(Delivery.objects.values_list("status", flat=True)) == ["retrying", "retrying"]
    assert effect_count() == 0


def test_a_replayed_batch_item_is_not_written_twice(source, batch_sink, admin_a):
    fan_out(source, ["30", "31"])
    dispatcher.tick()
    assert effect_count() == 2
    result = replay_deliveries(Delivery.objects.all(), actor=admin_a)
    assert result.queued == [] and len(result.skipped) == 2  # already delivered: nothing to redo
    replay_deliveries(Delivery.objects.all(), actor=admin_a, resend=True)
    dispatcher.tick()
    assert effect_count() == 4  # resend was asked for explicitly: new keys, new effects
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
