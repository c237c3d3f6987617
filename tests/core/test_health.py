"""The worker tier's health check fails exactly when accepted work is stuck."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from mlconnector.pipeline.health import report
from mlconnector.pipeline.models import WorkerNode
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import stored_event

pytestmark = pytest.mark.django_db


def node(name="w1", **fields) -> WorkerNode:
    now = timezone.now()
    values = dict(
        hostname="host",
        pid=1,
        workers=4,
        state=WorkerNode.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        cluster_started_at=now,
        progress_at=now,
    )
    return WorkerNode.objects.create(name=name, **(values | fields))


def test_it_is_ok_with_a_live_node_and_nothing_waiting():
    node()
    data = report()
    assert data["ok"] and data["problems"] == [] and data["nodes"][0]["alive"]


def test_it_fails_when_due_work_is_not_handed_out(tenant_a):
    event = stored_event(sandbox_source(tenant_a))
    later = event.next_attempt_at + timedelta(seconds=45)
    node(heartbeat_at=later)  # alive then, but nobody dispatches
    data = report(now=later)
    assert not data["ok"]
    assert "events: due work not handed out for 45s (the dispatcher is not running)" in data["problems"]
    assert data["work"]["events"]["due_not_handed_out"] == 1


def test_it_fails_when_there_is_no_live_worker(tenant_a):
    node(heartbeat_at=timezone.now() - timedelta(minutes=5))
    stored_event(sandbox_source(tenant_a))
    data = report(now=timezone.now() + timedelta(seconds=40))
    assert "no live worker while work is due" in data["problems"]
    assert any("no heartbeat for" in p for p in data["problems"])


def test_a_node_whose_workers_take_nothing_while_work_waits_is_failing():
    node(stalled_since=timezone.now() - timedelta(seconds=25))
    data = report()
    assert data["problems"] == ["worker w1: its workers took no work for 25s while work waited"]


def test_a_node_reporting_a_dead_process_is_failing():
    node(problem="process 4242 of its cluster died")
    assert report()["problems"] == ["worker w1: process 4242 of its cluster died"]


def test_a_backlog_is_not_a_fault_while_workers_make_progress(tenant_a):
    from mlconnector.webhooks.models import InboundEvent

    node(progress_at=timezone.now())
    event = stored_event(sandbox_source(tenant_a))
    InboundEvent.objects.filter(pk=event.pk).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    assert report()["ok"]
    WorkerNode.objects.update(progress_at=timezone.now() - timedelta(minutes=2))
    assert report()["problems"] == ["events: handed-out work not started by any worker for 300s"]


def test_the_command_exits_1_when_failing_and_says_why(capsys):
    node(problem="process 4242 of its cluster died")
    with pytest.raises(SystemExit) as done:
        call_command("health")
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILING") and "process 4242 of its cluster died" in out
