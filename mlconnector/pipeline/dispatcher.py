"""The dispatcher (and sweeper): the one place that hands due work to django-q2.

Every half second, in whichever worker holds the "dispatcher" lease, it:
- recovers work whose worker died (a running lease that expired): counted, retried, and failed
  for good after MLCONNECTOR_MAX_WORKER_DEATHS so a poison task cannot kill workers forever;
- enqueues stored events that are due (new webhooks: the receiver itself enqueues nothing, which
  keeps the ack path to one write);
- enqueues deliveries that are due (new, or retrying after their backoff).

It runs as a django-q2 schedule every minute; each run lives MLCONNECTOR_DISPATCHER_SPAN seconds
(less than the task timeout) and waits for the lease while another run holds it, so one run
hands over to the next without a gap and at most two workers are ever busy with it.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.pipeline import leases
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent

log = logging.getLogger("mlconnector.dispatcher")

LEASE_NAME = "dispatcher"
BATCH = 200
DELIVER = "mlconnector.pipeline.delivery.deliver"
PROCESS = "mlconnector.webhooks.processing.process_inbound"


def redispatch_after() -> timedelta:
    # A dispatched task not started after this long was lost by the broker: hand it out again.
    # (Claims are conditional updates, so a second copy of a live task is a harmless no-op.)
    return timedelta(seconds=settings.Q_CLUSTER["retry"])


def tick() -> dict[str, int]:
    now = timezone.now()
    counts = {"recovered": recover_abandoned(now)}
    counts["events"] = _dispatch(
        InboundEvent, [InboundEvent.Status.RECEIVED, InboundEvent.Status.RETRYING], PROCESS, now
    )
    counts["deliveries"] = _dispatch(Delivery, [Delivery.Status.PENDING, Delivery.Status.RETRYING], DELIVER, now)
    return counts


def _dispatch(model, statuses, func: str, now) -> int:
    stale = now - redispatch_after()
    due = list(
        model.objects.filter(status__in=statuses, next_attempt_at__lte=now)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", "dispatched_at")[:BATCH]
    )
    sent = 0
    for pk, dispatched_at in due:
        if model.objects.filter(pk=pk, dispatched_at=dispatched_at).update(dispatched_at=now):
            async_task(func, pk, task_name=f"{model._meta.model_name}-{pk}")
            sent += 1
    return sent


def enqueue_deliveries(pks) -> None:
    """Hand deliveries to the workers now (a fresh fan-out, a replay) instead of at the next tick."""
    now = timezone.now()
    for pk in list(pks):
        if Delivery.objects.filter(pk=pk, dispatched_at__isnull=True).update(dispatched_at=now):
            async_task(DELIVER, pk, task_name=f"delivery-{pk}")


def recover_abandoned(now) -> int:
    recovered = 0
    limit = settings.MLCONNECTOR_MAX_WORKER_DEATHS
    for model, running, retry_status, failed in (
        (Delivery, Delivery.Status.RUNNING, Delivery.Status.RETRYING, Delivery.Status.FAILED),
        (InboundEvent, InboundEvent.Status.PROCESSING, InboundEvent.Status.RETRYING, InboundEvent.Status.FAILED),
    ):
        for row in model.objects.filter(status=running, lease_until__lt=now)[:BATCH]:
            deaths = row.worker_deaths + 1
            give_up = deaths >= limit
            fields = dict(
                status=failed if give_up else retry_status,
                worker_deaths=F("worker_deaths") + 1,
                lease_until=None,
                next_attempt_at=now,
                dispatched_at=None,
                last_error=(
                    f"the worker died during {deaths} attempts; not retried automatically "
                    "(replay it once the cause is fixed)"
                    if give_up
                    else f"the worker died during attempt {row.attempts}; retrying"
                ),
            )
            if model.objects.filter(pk=row.pk, status=running, attempts=row.attempts).update(**fields):
                recovered += 1
                is_delivery = model is Delivery
                record(
                    AuditRecord.Kind.WORKER_DIED,
                    tenant=row.tenant,
                    event=row.event if is_delivery else row,
                    delivery=row if is_delivery else None,
                    connection=row.connection,
                    outcome=AuditRecord.Outcome.ERROR if give_up else AuditRecord.Outcome.RETRY,
                    message=fields["last_error"],
                )
    return recovered


def run(span: float | None = None, handover: float | None = None) -> str:
    """One dispatcher run (the scheduled task, started every minute). Ticks while holding the
    lease, until `span` (a little over a minute) passes, so consecutive runs overlap and hand over.

    A run that cannot take the lease within `handover` seconds ends at once: another run is
    dispatching, and a waiting run would only hold a worker the deliveries need. If that other
    run's worker dies, its short lease expires and the next scheduled run takes over.
    """
    span = settings.MLCONNECTOR_DISPATCHER_SPAN if span is None else span
    handover = settings.MLCONNECTOR_DISPATCHER_HANDOVER if handover is None else handover
    interval = settings.MLCONNECTOR_DISPATCH_INTERVAL
    owner = uuid.uuid4().hex
    started = time.monotonic()
    deadline = started + span
    ticks = 0
    try:
        while time.monotonic() < deadline:
            try:
                if leases.acquire(LEASE_NAME, owner, ttl_seconds=max(5.0, interval * 10)):
                    tick()
                    ticks += 1
                elif not ticks and time.monotonic() - started > handover:
                    return "another run is dispatching"
            except Exception:  # noqa: BLE001 - a database hiccup must not end the dispatcher
                log.exception("dispatcher tick failed")
                close_old_connections()
            time.sleep(interval)
    finally:
        leases.release(LEASE_NAME, owner)
    return f"{ticks} ticks"
