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


def test_each_batch_holds_one_record_type_so_calls_go_out_full(source, batch_sink):
    """Invoices and payments due together: a batch of invoices and a batch of payments, never a mix (a
    real target writes each type in its own call, so a mixed batch means two calls half as full)."""
    for n, object_id in enumerate(["40", "41", "42", "43"]):
        event_type = "payment.create" if n % 2 else "invoice.create"
        record = {**INVOICE, "id": object_id, "invoice_number": f"004{n}"}
        process_inbound(_stored(source, record=record, object_id=object_id, event_type=event_type).pk)
    sent = []
    real = dispatcher.async_task

    def spy(func, *args, **kwargs):
        if func == dispatcher.DELIVER_BATCH:
            sent.append(sorted(Delivery.objects.filter(pk__in=args[0]).values_list("event_type", flat=True)))
        return real(func, *args, **kwargs)

    dispatcher.async_task = spy
    try:
        dispatcher.tick()
    finally:
        dispatcher.async_task = real
    assert sorted(sent) == [["invoice.create", "invoice.create"], ["payment.create", "payment.create"]]
    assert effect_count() == 4


def test_a_short_last_batch_waits_for_the_rest_when_the_tick_read_only_part_of_a_backlog(
    source, batch_sink, monkeypatch
):
    monkeypatch.setattr(dispatcher, "BATCH", 4)  # one tick reads 4 of the 5 due deliveries
    fan_out(source, ["50", "51", "52", "53", "54"])
    dispatcher.tick()
    assert batch_calls() == [3]
    dispatcher.tick()
    assert batch_calls() == [3, 2]  # not [3, 1, 1]: the fourth waited for the fifth
    assert effect_count() == 5


def test_a_short_batch_behind_a_backlog_waits_at_most_the_linger(source, batch_sink, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(dispatcher, "BATCH", 4)
    fan_out(source, ["60", "61", "62", "63", "64"])
    Delivery.objects.update(next_attempt_at=timezone.now() - dispatcher.BATCH_LINGER - timedelta(seconds=1))
    dispatcher.tick()
    assert batch_calls() == [3, 1]  # the fourth had waited long enough: it went short


def test_two_dispatchers_reaching_one_batch_at_once_take_it_whole_or_not_at_all(source, batch_sink):
    from django.utils import timezone

    pks = [d.pk for d in fan_out(source, ["70", "71", "72"])]
    now = timezone.now()
    assert dispatcher._claim_batch(pks, now) == pks
    assert dispatcher._claim_batch(pks, now) == []  # the second dispatcher finds it handed out
    fresh = [d.pk for d in fan_out(source, ["73", "74"]) if d.pk not in pks]
    Delivery.objects.filter(pk=fresh[0]).update(dispatched_at=now)  # one of them taken meanwhile
    assert dispatcher._claim_batch(fresh, timezone.now()) == fresh[1:]
