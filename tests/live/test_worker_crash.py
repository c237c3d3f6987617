"""A worker SIGKILLed mid-delivery loses nothing and causes exactly one remote effect."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent
from tests.factories import ConnectionFactory, TenantFactory
from tests.live.processes import kill, process_env, qcluster, wait_for
from tests.pipeline_helpers import sink_connection, stored_event
from tests.testsink.sandbox import effect_count

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_it_recovers_a_delivery_whose_worker_was_killed_after_the_remote_write(live_server, tmp_path):
    tenant = TenantFactory()
    source = ConnectionFactory(tenant=tenant, provider="freshbooks")
    sink = sink_connection(tenant)
    event = stored_event(source, status=InboundEvent.Status.PROCESSED)
    delivery = Delivery.objects.create(
        tenant=tenant,
        event=event,
        connection=sink,
        provider="testsink",
        event_type=event.event_type,
        next_attempt_at=timezone.now(),
    )
    # The sink writes the effect, then stalls before answering: the worker dies in that window.
    faults.add("testsink-after", kind=SandboxFault.Kind.DELAY, delay_seconds=8)

    with qcluster(process_env(live_server.url), tmp_path / "qcluster.log") as proc:
        async_task("mlconnector.pipeline.delivery.deliver", delivery.pk, sync=False)
        wait_for(lambda: effect_count() == 1, timeout=45, what="the remote write")
        delivery.refresh_from_db()
        assert delivery.status == "running"
        kill(proc)

    delivery.refresh_from_db()
    assert delivery.status == "running" and effect_count() == 1
    # Time passes: the lease (longer than any live task may run) expires, and the sweeper acts.
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    dispatcher.tick()

    delivery.refresh_from_db()
    assert delivery.status == "succeeded", delivery.last_error
    assert effect_count() == 1
    assert AuditRecord.objects.filter(kind=AuditRecord.Kind.WORKER_DIED, delivery=delivery).exists()
