"""The dispatcher (and sweeper): the one place that hands due work to django-q2.

Every half second it:
- recovers work whose worker died (a running lease that expired): counted, retried, and failed
  for good after MLCONNECTOR_MAX_WORKER_DEATHS so a poison task cannot kill workers forever;
- enqueues stored events that are due (new webhooks: the receiver itself enqueues nothing, which
  keeps the ack path to one write);
- enqueues deliveries that are due (new, or retrying after their backoff), in batches of one
  connection's deliveries for targets that take batches;
- enqueues connection jobs that are due (polling backstops, daily checks: pipeline/jobs.py).

It runs in the worker supervisor that holds the "dispatcher" lease (pipeline/supervisor.py): one
across all machines, from the supervisor's first second, without taking a worker slot.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.contract import registry
from mlconnector.pipeline import jobs
from mlconnector.pipeline.models import Backfill, ConnectionJob, Delivery
from mlconnector.pipeline.work import BACKFILLS, DELIVERIES, EVENTS, JOBS, due_or_stale
from mlconnector.webhooks.models import InboundEvent

log = logging.getLogger("mlconnector.dispatcher")

LEASE_NAME = "dispatcher"
BATCH = 200
BATCH_LINGER = timedelta(seconds=2)
DELIVER = "mlconnector.pipeline.delivery.deliver"
DELIVER_BATCH = "mlconnector.pipeline.delivery.deliver_batch"
PROCESS = "mlconnector.webhooks.processing.process_inbound"
RUN_JOB = "mlconnector.pipeline.jobs.run_job"
RUN_BACKFILL = "mlconnector.pipeline.backfill.run_step"
# Connections gain and lose job rows (pipeline/jobs.py); the dispatcher checks this often.
RECONCILE_EVERY = timedelta(seconds=60)
_reconciled_at = None


def redispatch_after() -> timedelta:
    # A dispatched task not started after this long was lost by the broker: hand it out again.
    # (Claims are conditional updates, so a second copy of a live task is a harmless no-op.)
    return timedelta(seconds=settings.Q_CLUSTER["retry"])


def tick() -> dict[str, int]:
    now = timezone.now()
    counts = {"recovered": recover_abandoned(now)}
    counts["events"] = _dispatch(InboundEvent, EVENTS.due, PROCESS, now)
    counts["deliveries"] = _dispatch_deliveries(now)
    counts["jobs"] = _dispatch_jobs(now)
    counts["backfills"] = _dispatch(Backfill, BACKFILLS.due, RUN_BACKFILL, now)
    return counts


def _mark(model, pk: int, dispatched_at, now) -> bool:
    """Hand a row out once: only the dispatcher that moves dispatched_at on from what it read wins."""
    return bool(model.objects.filter(pk=pk, dispatched_at=dispatched_at).update(dispatched_at=now))


def _dispatch(model, statuses, func: str, now) -> int:
    due = list(
        due_or_stale(model, statuses, now, redispatch_after())
        .order_by("next_attempt_at")
        .values_list("pk", "dispatched_at")[:BATCH]
    )
    sent = 0
    for pk, dispatched_at in due:
        if _mark(model, pk, dispatched_at, now):
            async_task(func, pk, task_name=f"{model._meta.model_name}-{pk}")
            sent += 1
    return sent


def batch_sizes() -> dict[str, int]:
    """Providers whose deliveries go out in batches, and how many per call."""
    return {cls.provider: cls.batch_size for cls in registry.all() if cls.batch_size > 1}


def _dispatch_deliveries(now) -> int:
    """Due deliveries: one task each, or, for a target that takes batches, one task per batch of the
    same connection's deliveries of one record type (a batch of clients, a batch of invoices: each
    goes out in full calls instead of mixed ones half as full)."""
    sizes = batch_sizes()
    due = list(
        due_or_stale(Delivery, DELIVERIES.due, now, redispatch_after())
        .order_by("next_attempt_at")
        .values_list("pk", "dispatched_at", "provider", "connection_id", "event_type", "next_attempt_at")[:BATCH]
    )
    # More may be due than this tick read (a backlog, a backfill): a group's last, partial batch then
    # waits for a later tick that reads it with the rest, instead of going out short, but never longer
    # than BATCH_LINGER, so a small group behind a big backlog is not starved.
    more = len(due) == BATCH
    sent = 0
    groups: dict[tuple[int, str], list[tuple[int, object]]] = {}
    for pk, dispatched_at, provider, connection_id, event_type, due_at in due:
        if provider in sizes:
            groups.setdefault((connection_id, event_type.split(".")[0]), []).append((pk, due_at))
        elif _mark(Delivery, pk, dispatched_at, now):
            async_task(DELIVER, pk, task_name=f"delivery-{pk}")
            sent += 1
    providers = {row[3]: row[2] for row in due}
    for (connection_id, _), rows in groups.items():
        size = sizes[providers[connection_id]]
        for start in range(0, len(rows), size):
            chunk = [pk for pk, _ in rows[start : start + size]]
            if more and len(chunk) < size and rows[start][1] > now - BATCH_LINGER:
                continue
            taken = _claim_batch(chunk, now)
            if taken:
                async_task(DELIVER_BATCH, taken, task_name=f"deliveries-{connection_id}-{taken[0]}")
                sent += len(taken)
    return sent


def _claim_batch(pks: list[int], now) -> list[int]:
    """Hand a batch out in one UPDATE: two dispatchers reaching it at once (a lease handed over, the
    benchmark's workers) get all of it or none of it, never half a batch each."""
    claimable = due_or_stale(Delivery, DELIVERIES.due, now, redispatch_after()).filter(pk__in=pks)
    taken = claimable.update(dispatched_at=now)
    if taken == len(pks):
        return pks
    return list(Delivery.objects.filter(pk__in=pks, dispatched_at=now).values_list("pk", flat=True)) if taken else []


def _dispatch_jobs(now) -> int:
    global _reconciled_at
    if _reconciled_at is None or now - _reconciled_at > RECONCILE_EVERY:
        _reconciled_at = now
        jobs.reconcile()
    due = list(
        due_or_stale(ConnectionJob, JOBS.due, now, redispatch_after())
        .filter(connection__status__in=jobs.RUNS_FOR)
        .order_by("next_attempt_at")
        .values_list("pk", "dispatched_at")[:BATCH]
    )
    sent = 0
    for pk, dispatched_at in due:
        if _mark(ConnectionJob, pk, dispatched_at, now):
            async_task(RUN_JOB, pk, task_name=f"job-{pk}")
            sent += 1
    return sent


def enqueue_deliveries(pks) -> None:
    """Hand deliveries to the workers now (a fresh fan-out, a replay) instead of at the next tick.
    Deliveries to a target that takes batches wait for the tick, which groups them."""
    now = timezone.now()
    sizes = batch_sizes()
    for pk, provider in Delivery.objects.filter(pk__in=list(pks), dispatched_at__isnull=True).values_list(
        "pk", "provider"
    ):
        if provider not in sizes and _mark(Delivery, pk, None, now):
            async_task(DELIVER, pk, task_name=f"delivery-{pk}")


def recover_abandoned(now) -> int:
    """Work whose lease expired: its worker died (nobody renewed the lease)."""
    return sum(recover(lc, lc.abandoned(now), now, died=True) for lc in (DELIVERIES, EVENTS, JOBS, BACKFILLS))


def recover(lifecycle, rows, now, *, died: bool, reason: str = "") -> int:
    """Hand running rows back (pipeline/work.py) and say so in the audit trail."""
    recovered = lifecycle.recover(rows, now, died=died, reason=reason)
    for row, gave_up, message in recovered:
        record(
            AuditRecord.Kind.WORKER_DIED
            if died
            else AuditRecord.Kind.JOB
            if lifecycle is JOBS
            else AuditRecord.Kind.DELIVERY,
            outcome=AuditRecord.Outcome.ERROR if gave_up else AuditRecord.Outcome.RETRY,
            message=message,
            **lifecycle.refs(row),
        )
    return len(recovered)
