"""The worker supervisor keeps accepted work moving through what kills workers in real life.

A real `manage.py worker` (supervisor, dispatcher, qcluster) against this run's database, broker and
live server; real signed webhooks; real SIGKILLs. After each kill, every webhook sent is delivered
within 30 s, exactly once. CI runs this on SQLite + the ORM broker and on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import requests
from django.utils import timezone

from integrations.freshbooks.models import FreshBooksCallback
from integrations.freshbooks.sandbox import records
from integrations.freshbooks.sandbox.state import KINDS
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxAccount, SandboxFault, SandboxObject
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.health import report
from mlconnector.pipeline.models import Delivery, WorkerNode
from mlconnector.webhooks.models import InboundEvent
from tests.factories import TenantFactory
from tests.freshbooks.helpers import VERIFIER, sandbox_source, sign, webhook_body
from tests.live.processes import cluster_processes, lock_holder, process_env, wait_for, worker
from tests.pipeline_helpers import sink_connection

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
DEADLINE = 30.0  # seconds from a webhook's acknowledgement to its delivery, whatever was killed


class Books:
    """A tenant whose FreshBooks sends signed webhooks and whose sink receives each invoice."""

    def __init__(self, live_server):
        self.url = live_server.url
        tenant = TenantFactory()
        self.source = sandbox_source(tenant)
        FreshBooksCallback.objects.create(
            tenant=tenant,
            connection=self.source,
            callback_id="1",
            event="invoice.create",
            verifier=VERIFIER,
            verified=True,
        )
        sink_connection(tenant)
        self.account = SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")
        self.client_id = next(r.data["id"] for r in SandboxObject.objects.filter(kind="client", account=self.account))
        self.sent: dict[str, float] = {}

    def send(self, n: int = 3) -> list[str]:
        """Create invoices in the sandbox and send their signed webhooks, as FreshBooks does."""
        ids = []
        for _ in range(n):
            invoice, _ = records.create(
                self.account,
                KINDS["invoice"],
                {"customerid": self.client_id, "lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": "10"}}]},
            )
            object_id = str(invoice["id"])
            body = webhook_body(object_id=object_id, account_id="DEMO01")
            response = requests.post(
                f"{self.url}/hooks/freshbooks/{self.source.endpoint_key}/",
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "X-FreshBooks-Hmac-SHA256": sign(body)},
                timeout=10,
            )
            assert response.status_code == 200
            self.sent[object_id] = time.monotonic()
            ids.append(object_id)
        return ids

    def effects(self, object_id: str) -> int:
        return sum(1 for o in SandboxObject.objects.filter(kind="effect") if o.data.get("object_id") == object_id)

    def delivered(self, ids) -> bool:
        return Delivery.objects.filter(event__object_id__in=ids, status="succeeded").count() == len(ids)

    def expect_delivered_once(self, ids, *, within: float = DEADLINE) -> float:
        """Wait for every one of `ids`; returns the slowest time from webhook to delivery."""
        wait_for(lambda: self.delivered(ids), timeout=within + 5, interval=0.25, what=f"deliveries of {ids}")
        slowest = max(time.monotonic() - self.sent[i] for i in ids)
        assert slowest <= within, f"slowest delivery took {slowest:.1f}s"
        for object_id in ids:
            assert self.effects(object_id) == 1, object_id
        return slowest


@pytest.fixture
def books(live_server):
    return Books(live_server)


@pytest.fixture
def node_env(live_server):
    return process_env(live_server.url, MLCONNECTOR_WORKERS="2")


def wait_until_ready(proc) -> None:
    wait_for(lambda: len(cluster_processes(proc.pid)["idle"]) == 2, timeout=30, what="two idle workers")
    time.sleep(1.0)  # the supervisor looks at its cluster every half second


def the_node() -> WorkerNode:
    return WorkerNode.objects.exclude(state="stopped").get()


def test_it_processes_the_first_events_within_seconds_of_start_and_stops_within_ten(books, node_env, tmp_path):
    ids = books.send(2)  # stored while no worker runs
    # Only the webhooks' own events: the polling backstop's first sweep at start may add events of its
    # own for the same invoices (found before the webhooks' were fanned out; they end up as no-ops).
    sent = InboundEvent.objects.filter(source="webhook", object_id__in=ids)
    assert sent.filter(dispatched_at__isnull=True).count() == 2
    started = time.monotonic()
    with worker(node_env, tmp_path / "worker.log") as proc:
        wait_for(
            lambda: sent.filter(status="processed").count() == 2 and WorkerNode.objects.exists(),
            timeout=30,
            interval=0.05,
            what="the first events processed",
        )
        wall = time.monotonic() - started  # includes starting Python and Django on a busy machine
        up = WorkerNode.objects.get().started_at
        first_done = (min(sent.values_list("processed_at", flat=True)) - up).total_seconds()
        books.expect_delivered_once(ids)
        # A delivery in flight when the stop comes: it finishes, or is handed back, never left running.
        faults.add("testsink", kind=SandboxFault.Kind.DELAY, delay_seconds=2)
        slow = books.send(1)
        wait_for(lambda: cluster_processes(proc.pid)["busy"], timeout=15, what="a busy worker")
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        stopped_in = time.monotonic() - asked
    # Dispatch starts with the supervisor (it used to wait ~30 s for django-q2's scheduler); what is
    # left is the cluster spawning its workers and the processing itself.
    print(f"first events processed {first_done:.2f}s after the worker was up, stop took {stopped_in:.1f}s")
    assert first_done < 8.0, f"first event processed {first_done:.2f}s after the worker was up"
    assert wall < 20.0, f"first event processed {wall:.1f}s after the process was started"
    assert stopped_in < 10.0, f"stopped after {stopped_in:.1f}s"
    assert proc.returncode == 0
    assert not Delivery.objects.filter(status="running").exists()
    assert not InboundEvent.objects.filter(status="processing").exists()
    assert the_node_state() == "stopped"
    assert books.effects(slow[0]) <= 1


def the_node_state() -> str:
    return WorkerNode.objects.get().state


def test_killing_the_idle_worker_that_holds_the_queue_lock_replaces_the_cluster(books, node_env, tmp_path):
    with worker(node_env, tmp_path / "worker.log") as proc:
        wait_until_ready(proc)
        books.expect_delivered_once(books.send(2))
        holder = lock_holder(proc.pid)
        holder.kill()
        ids = books.send(5)
        slowest = books.expect_delivered_once(ids)
        node = the_node()
        assert node.restarts == 1 and f"process {holder.pid} of its cluster died" in node.last_restart_reason
    print(f"idle lock holder killed: slowest webhook-to-delivery {slowest:.1f}s")


def test_killing_a_busy_worker_mid_task_redoes_its_delivery_once(books, node_env, tmp_path):
    with worker(node_env, tmp_path / "worker.log") as proc:
        wait_until_ready(proc)
        # The sink writes the effect, then stalls before answering: the worker dies in that window.
        faults.add("testsink-after", kind=SandboxFault.Kind.DELAY, delay_seconds=6)
        (stuck,) = books.send(1)
        wait_for(lambda: books.effects(stuck) == 1, timeout=20, what="the remote write")
        wait_for(lambda: cluster_processes(proc.pid)["busy"], timeout=10, what="the busy worker")
        (busy,) = [p for p in cluster_processes(proc.pid)["busy"] if "delivery" in " ".join(p.cmdline())]
        killed = time.monotonic()
        busy.kill()
        wait_for(lambda: books.delivered([stuck]), timeout=DEADLINE + 5, what="the redone delivery")
        assert time.monotonic() - killed <= DEADLINE
        assert books.effects(stuck) == 1  # redone with the same idempotency key: no second effect
        delivery = Delivery.objects.get(event__object_id=stuck)
        assert delivery.worker_deaths == 1
        assert AuditRecord.objects.filter(kind="worker.died", delivery=delivery).exists()
        books.expect_delivered_once(books.send(3))


def test_killing_the_cluster_parent_replaces_the_cluster(books, node_env, tmp_path):
    with worker(node_env, tmp_path / "worker.log") as proc:
        wait_until_ready(proc)
        (parent,) = psutil.Process(proc.pid).children()
        os.kill(parent.pid, signal.SIGKILL)
        books.expect_delivered_once(books.send(4))
        assert "its cluster exited" in the_node().last_restart_reason or "died" in the_node().last_restart_reason


def test_the_health_check_reports_a_wedged_cluster_before_anything_fixes_it(books, node_env, tmp_path):
    with worker(node_env, tmp_path / "worker.log", "--no-restart") as proc:
        wait_until_ready(proc)
        assert report()["ok"]
        holder = lock_holder(proc.pid)
        holder.kill()
        wait_for(lambda: not report()["ok"], timeout=10, what="the health check to fail")
        problems = report()["problems"]
        assert any(f"process {holder.pid} of its cluster died" in p for p in problems), problems
        # The wedge is real: with nobody replacing the cluster, new work is not done.
        ids = books.send(2)
        time.sleep(8)
        assert not books.delivered(ids)
        assert WorkerNode.objects.get().restarts == 0
    started = timezone.now()
    # The same machine with the supervisor allowed to act: the waiting work goes through.
    with worker(node_env, tmp_path / "worker2.log"):
        wait_for(lambda: books.delivered(ids), timeout=DEADLINE, what="the waiting work")
    assert all(books.effects(i) == 1 for i in ids)
    assert (timezone.now() - started).total_seconds() < DEADLINE
