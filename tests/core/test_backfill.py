"""Backfill: what the source already holds reaches one target, resumably, once, with true progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault, SandboxObject
from mlconnector.pipeline import backfill, dispatcher
from mlconnector.pipeline.models import Backfill, ConnectionJob, Delivery
from mlconnector.webhooks.models import InboundEvent
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import sink_connection
from tests.testsink.sandbox import API_KEY, batch_calls, effect_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(tenant_a, monkeypatch):
    monkeypatch.setattr(backfill, "PER_PAGE", 4)  # several pages from a few records
    source = sandbox_source(tenant_a)
    account = seed_demo().businesses[0]
    client = next(r.data["id"] for r in SandboxObject.objects.filter(kind="client", account=account))
    for n in range(10):
        line = {"name": f"Work {n}", "qty": "1", "unit_cost": {"amount": f"{100 + n}"}}
        records.create(account, KINDS["invoice"], {"customerid": client, "lines": [line]})
    target = ConnectionFactory(tenant=tenant_a, provider="testbatch", credentials={"api_key": API_KEY}, config={})
    # The source's own polling backstop would deliver these too; here only the backfill does.
    ConnectionJob.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    return source, target


def run(rounds: int = 30) -> None:
    for _ in range(rounds):
        counts = dispatcher.tick()
        if not counts["backfills"] and not counts["deliveries"]:
            return


def invoices_in_sandbox() -> int:
    return SandboxObject.objects.filter(provider="freshbooks", kind="invoice").count()


def test_it_copies_every_record_to_the_target_only_in_batches(books, tenant_a):
    source, target = books
    bystander = sink_connection(tenant_a)  # consumes FreshBooks invoices too, but asked for nothing
    job = backfill.start(target)
    run()
    job.refresh_from_db()
    total = invoices_in_sandbox()
    assert job.status == "listed" and job.listed == total and job.queued == total
    assert Delivery.objects.filter(connection=target, status="succeeded").count() == total
    assert not Delivery.objects.filter(connection=bystander).exists() and effect_count() == total
    assert max(batch_calls()) == 3  # through the batch seam
    assert InboundEvent.objects.filter(backfill=job, source="backfill").count() == total
    progress = backfill.progress(job)
    assert progress["finished"] and progress["done"] == progress["total"] == total and progress["percent"] == 100


def test_running_it_twice_writes_nothing_new(books):
    source, target = books
    backfill.start(target)
    run()
    effects = effect_count()
    again = backfill.start(target)
    run()
    again.refresh_from_db()
    assert again.queued == 0 and again.skipped == invoices_in_sandbox()
    assert effect_count() == effects
    assert backfill.progress(again)["finished"]


def test_it_resumes_where_a_killed_worker_left_it_and_counts_each_record_once(books):
    source, target = books
    job = backfill.start(target)
    dispatcher.tick()  # reads pages until the deliveries go out; stop mid-way by faking a death below
    Backfill.objects.filter(pk=job.pk).update(
        status="running", attempts=1, lease_until=timezone.now() - timedelta(seconds=1), lease_owner="gone:1"
    )
    run()
    job.refresh_from_db()
    total = invoices_in_sandbox()
    assert job.status == "listed" and job.queued == total and job.worker_deaths == 1
    assert Delivery.objects.filter(connection=target).count() == total and effect_count() == total


def test_a_source_error_is_retried_and_the_reading_goes_on(books):
    source, target = books
    faults.add("freshbooks", kind=SandboxFault.Kind.STATUS, status=503, times=3)  # one step's inline tries
    job = backfill.start(target)
    dispatcher.tick()
    job.refresh_from_db()
    assert job.status == "retrying" and "503" in job.last_error
    Backfill.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    run()
    job.refresh_from_db()
    assert job.status == "listed" and effect_count() == invoices_in_sandbox()


def test_it_refuses_a_second_backfill_while_one_runs_and_one_without_a_source(books, tenant_b):
    source, target = books
    backfill.start(target)
    with pytest.raises(backfill.BackfillRefused, match="already running"):
        backfill.start(target)
    lonely = ConnectionFactory(tenant=tenant_b, provider="testbatch", credentials={"api_key": API_KEY}, config={})
    with pytest.raises(backfill.BackfillRefused, match="connect freshbooks first"):
        backfill.start(lonely)
