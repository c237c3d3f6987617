"""Per-connection schedules: each active connection runs its integration's jobs at the interval it
holds, through the dispatcher and the same claim / lease / recovery as every other kind of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher, jobs
from mlconnector.pipeline.models import ConnectionJob
from mlconnector.webhooks.models import InboundEvent
from tests.freshbooks.helpers import sandbox_source
from tests.freshbooks.test_flow import create_invoice
from tests.pipeline_helpers import audit_messages, sink_connection

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def poll_job(conn) -> ConnectionJob:
    return ConnectionJob.objects.get(connection=conn, name="poll")


def test_an_active_connection_gets_its_jobs_with_the_default_interval(tenant_a, settings):
    source = sandbox_source(tenant_a)
    dispatcher.tick()
    job = poll_job(source)
    assert job.every_seconds == settings.FRESHBOOKS_POLL_MINUTES * 60
    assert job.last_started_at is not None and job.status == "idle"


def test_each_connection_runs_at_its_own_interval(tenant_a, tenant_b):
    with time_machine.travel(T0, tick=False) as clock:
        a, b = sandbox_source(tenant_a), sandbox_source(tenant_b)
        jobs.set_interval(poll_job(b), 60 * 60)
        dispatcher.tick()  # both run once, now
        runs = {a.pk: 1, b.pk: 1}
        for minute in range(1, 61):
            clock.move_to(T0 + timedelta(minutes=minute, seconds=1))
            before = {c.pk: poll_job(c).last_started_at for c in (a, b)}
            dispatcher.tick()
            for c in (a, b):
                runs[c.pk] += poll_job(c).last_started_at != before[c.pk]
    assert runs == {a.pk: 5, b.pk: 2}  # every 15 minutes vs hourly, over the hour


def test_a_poll_job_feeds_what_the_webhooks_missed(tenant_a):
    sink_connection(tenant_a)
    source = sandbox_source(tenant_a)
    create_invoice("250.00")  # no webhooks registered: nothing arrives by itself
    dispatcher.tick()
    assert InboundEvent.objects.filter(source="poll").count() == 1
    job = poll_job(source)
    assert job.last_ok is True and "1 change" in job.last_message
    assert any("the webhooks missed" in m for m in audit_messages(kind="job"))


def test_a_failed_run_retries_sooner_but_never_later_than_its_next_run(tenant_a):
    sink_connection(tenant_a)
    source = sandbox_source(tenant_a)
    faults.add("freshbooks", kind=SandboxFault.Kind.STATUS, status=503, times=10)
    dispatcher.tick()
    job = poll_job(source)
    assert job.status == "retrying" and job.last_ok is False and job.failures_in_a_row == 1
    assert job.next_attempt_at <= job.last_started_at + timedelta(seconds=job.every_seconds)
    assert any(m.startswith("poll failed") for m in audit_messages(kind="job", outcome="retry"))


def test_a_paused_connection_runs_no_jobs_and_a_disconnected_one_loses_them(tenant_a):
    source = sandbox_source(tenant_a)
    Connection.objects.filter(pk=source.pk).update(status=Connection.Status.PAUSED)
    dispatcher.tick()
    assert poll_job(source).last_started_at is None
    Connection.objects.filter(pk=source.pk).update(status=Connection.Status.DISCONNECTED)
    jobs.reconcile()
    assert not ConnectionJob.objects.filter(connection=source).exists()


def test_an_interval_under_a_minute_is_refused(tenant_a):
    source = sandbox_source(tenant_a)
    job = poll_job(source)
    with pytest.raises(ValueError):
        jobs.set_interval(job, 30)
    assert poll_job(source).every_seconds == job.every_seconds


def test_a_job_whose_worker_died_is_recovered_and_runs_again(tenant_a):
    source = sandbox_source(tenant_a)
    job = poll_job(source)
    ConnectionJob.objects.filter(pk=job.pk).update(
        status="running", attempts=1, lease_until=timezone.now() - timedelta(seconds=1), lease_owner="gone:1"
    )
    dispatcher.tick()
    job.refresh_from_db()
    assert job.status == "idle" and job.last_ok is True  # recovered, and run again in the same tick
    assert AuditRecord.objects.filter(kind="worker.died", connection=source).exists()


def test_a_connection_connected_in_the_browser_has_its_jobs_at_once(tenant_a, admin_a):
    from integrations.freshbooks.sandbox import seed_demo
    from tests.conftest import client_for
    from tests.freshbooks.test_flow import connect_freshbooks

    seed_demo()
    connect_freshbooks(client_for(admin_a))
    conn = Connection.objects.get(provider="freshbooks", tenant=tenant_a)
    assert set(ConnectionJob.objects.filter(connection=conn).values_list("name", flat=True)) == {"poll", "handshakes"}
