"""Periodic work per connection: polling backstops, daily payout checks, re-checks of a feature.

An integration declares its jobs (`Integration.jobs = {"poll": Job("poll", every=900)}`); each
active connection gets one ConnectionJob row per job, holding its own interval, so one tenant's
FreshBooks can be polled every 5 minutes and another's hourly. The dispatcher hands due jobs to
django-q2 like any other due work, and run_job() goes through the same claim / lease / recovery
state machine (pipeline/work.py). A run that fails is tried again with backoff, never later than
its next regular run; a job never stops for good.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.services import mark_needs_reconnect
from mlconnector.contract import UnknownProvider, registry
from mlconnector.http import AuditContext, ProviderError
from mlconnector.pipeline.backoff import retry_delay
from mlconnector.pipeline.models import ConnectionJob
from mlconnector.pipeline.work import JOBS

log = logging.getLogger("mlconnector.jobs")
J = ConnectionJob.Status
# Connections whose jobs run; a paused or broken connection keeps its rows but they wait.
RUNS_FOR = [Connection.Status.ACTIVE]
KEEPS_FOR = [Connection.Status.ACTIVE, Connection.Status.PAUSED, Connection.Status.NEEDS_RECONNECT]


def ensure(conn: Connection) -> list[ConnectionJob]:
    """The connection's job rows: created with the integration's default interval, kept as set."""
    try:
        declared = registry.get(conn.provider).jobs
    except UnknownProvider:
        declared = {}
    now = timezone.now()
    rows = []
    for name, job in declared.items():
        row, _ = ConnectionJob.objects.get_or_create(
            connection=conn,
            name=name,
            defaults={"tenant_id": conn.tenant_id, "every_seconds": int(job.every), "next_attempt_at": now},
        )
        rows.append(row)
    ConnectionJob.objects.filter(connection=conn).exclude(name__in=list(declared)).delete()
    return rows


def on_connection_saved(sender, instance: Connection, **kwargs) -> None:
    if instance.status in KEEPS_FOR:
        ensure(instance)


def on_connection_activated(sender, connection: Connection, **kwargs) -> None:
    ensure(connection)


def reconcile() -> int:
    """Create the rows of connections that lack them; drop those of disconnected connections."""
    with_jobs = [cls.provider for cls in registry.all() if cls.jobs]
    created = 0
    for conn in Connection.objects.filter(provider__in=with_jobs, status__in=KEEPS_FOR):
        missing = set(registry.get(conn.provider).jobs) - set(conn.jobs.values_list("name", flat=True))
        if missing:
            created += len(ensure(conn))
    ConnectionJob.objects.exclude(connection__status__in=KEEPS_FOR).delete()
    return created


def set_interval(job: ConnectionJob, seconds: int, *, actor=None) -> None:
    """A connection's own interval for one job; the next run moves to match."""
    if seconds < 60:
        raise ValueError("a job runs at most once a minute")
    last = job.last_started_at or timezone.now()
    ConnectionJob.objects.filter(pk=job.pk).update(
        every_seconds=seconds, next_attempt_at=max(timezone.now(), last + timedelta(seconds=seconds))
    )
    record(
        AuditRecord.Kind.JOB,
        connection=job.connection,
        actor=actor,
        message=f"{job.name} now runs every {seconds // 60} min (was {job.every_seconds // 60} min)",
    )


def run_job(job_id: int) -> str:
    now = timezone.now()
    if not JOBS.claim(job_id, now, last_started_at=now):
        return "not due or already taken"
    job = ConnectionJob.objects.select_related("connection", "tenant").get(pk=job_id)
    conn = job.connection
    every = timedelta(seconds=job.every_seconds)
    if job.worker_deaths >= settings.MLCONNECTOR_MAX_WORKER_DEATHS:
        # A run that keeps killing its worker waits for its next regular run instead of looping.
        JOBS.finish(job, status=J.IDLE, attempts=0, worker_deaths=0, next_attempt_at=now + every)
        return "skipped: its worker died in the last runs"
    if conn.status not in RUNS_FOR:
        JOBS.finish(job, status=J.IDLE, attempts=0, next_attempt_at=now + every)
        return f"skipped: the connection is {conn.get_status_display().lower()}"
    try:
        integration = registry.get(conn.provider)(conn)
        spec = integration.jobs[job.name]
    except (UnknownProvider, KeyError):
        JOBS.finish(job, status=J.IDLE, attempts=0, next_attempt_at=now + every, last_error="no such job")
        return "no such job"
    audit = AuditContext(tenant=conn.tenant, connection=conn)
    try:
        message = getattr(integration, spec.method)(audit) or ""
    except ProviderError as exc:
        return _failed(job, exc, every)
    except Exception as exc:  # noqa: BLE001 - a bug in one run must not stop the schedule
        log.exception("job %s of connection %s crashed", job.name, conn.pk)
        return _failed(job, ProviderError(f"internal error: {exc.__class__.__name__}: {exc}"), every)
    JOBS.finish(
        job,
        status=J.IDLE,
        attempts=0,
        worker_deaths=0,
        next_attempt_at=timezone.now() + every,
        last_finished_at=timezone.now(),
        last_ok=True,
        last_message=message[:1000],
        last_error="",
        failures_in_a_row=0,
    )
    if message:
        record(AuditRecord.Kind.JOB, connection=conn, outcome=AuditRecord.Outcome.OK, message=f"{job.name}: {message}")
    return message or "done"


def _failed(job: ConnectionJob, exc: ProviderError, every: timedelta) -> str:
    conn = job.connection
    if exc.needs_reconnect:
        conn.refresh_from_db(fields=["status"])
        mark_needs_reconnect(conn, str(exc))
    delay = min(timedelta(seconds=retry_delay(job.failures_in_a_row + 1, exc.retry_after)), every)
    JOBS.finish(
        job,
        status=J.RETRYING if exc.retryable else J.IDLE,
        attempts=0,
        next_attempt_at=timezone.now() + (delay if exc.retryable else every),
        last_finished_at=timezone.now(),
        last_ok=False,
        last_error=str(exc)[:1000],
        failures_in_a_row=F("failures_in_a_row") + 1,
    )
    record(
        AuditRecord.Kind.JOB,
        connection=conn,
        outcome=AuditRecord.Outcome.RETRY if exc.retryable else AuditRecord.Outcome.ERROR,
        status_code=exc.status,
        message=f"{job.name} failed: {exc}",
    )
    return "failed"
