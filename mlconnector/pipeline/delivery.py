"""deliver(delivery_id): run the target integration's sync for one delivery and record the outcome.

The database owns the state. A delivery is claimed with a conditional UPDATE (so a duplicate
dispatch is a no-op), runs with a lease longer than django-q2's task timeout (so only a dead worker
can lose it, and the dispatcher then recovers it), and finishes with an UPDATE fenced on the attempt
number it claimed.
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
from mlconnector.connections.services import mark_needs_reconnect, note_error, note_success
from mlconnector.contract import UnknownProvider, registry
from mlconnector.http import AuditContext, ProviderError, RateLimited, Rejected, Unavailable
from mlconnector.pipeline.backoff import gives_up, retry_delay
from mlconnector.pipeline.models import Delivery

log = logging.getLogger("mlconnector.pipeline")
S = Delivery.Status


def deliver(delivery_id: int) -> str:
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=[S.PENDING, S.RETRYING], next_attempt_at__lte=now + timedelta(seconds=1)
    ).update(
        status=S.RUNNING,
        attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=settings.MLCONNECTOR_LEASE_SECONDS),
        last_attempt_at=now,
        dispatched_at=None,
    )
    if not claimed:
        return "not due or already taken"
    delivery = Delivery.objects.select_related("event", "connection", "tenant").get(pk=delivery_id)
    if delivery.first_attempt_at is None:
        Delivery.objects.filter(pk=delivery.pk).update(first_attempt_at=now)
        delivery.first_attempt_at = now
    conn = delivery.connection
    if conn.status != Connection.Status.ACTIVE:
        return _wait(delivery, f"{conn.provider} connection is {conn.get_status_display().lower()}")

    audit = AuditContext(tenant=delivery.tenant, connection=conn, event=delivery.event, delivery=delivery)
    try:
        integration = registry.get(conn.provider)(conn)
        result = integration.sync(delivery.event, delivery, audit)
    except UnknownProvider:
        return _fail(delivery, Rejected(f"no integration installed for {conn.provider}"))
    except ProviderError as exc:
        if exc.needs_reconnect:
            # The client marks the connection; make sure, or the parked delivery would never resume.
            conn.refresh_from_db(fields=["status"])
            mark_needs_reconnect(conn, str(exc))
            return _wait(delivery, f"{conn.provider} needs reconnecting: {exc}")
        return _retry_or_fail(delivery, exc)
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the delivery; it retries, then waits for replay
        log.exception("delivery %s crashed", delivery.pk)
        return _retry_or_fail(delivery, Unavailable(f"internal error: {exc.__class__.__name__}: {exc}"))

    done = timezone.now()
    _finish(
        delivery,
        status=S.SUCCEEDED,
        succeeded_at=done,
        remote_id=(result.remote_id or "")[:128],
        last_error="",
        resend=False,
        lease_until=None,
    )
    note_success(conn)
    message = result.message or ("nothing to write" if result.noop else "delivered")
    _audit(delivery, AuditRecord.Outcome.OK, message, remote_id=result.remote_id)
    return "succeeded"


def _finish(delivery: Delivery, **fields) -> bool:
    """Write the outcome only if this attempt still owns the delivery."""
    updated = Delivery.objects.filter(pk=delivery.pk, status=S.RUNNING, attempts=delivery.attempts).update(
        updated_at=timezone.now(), **fields
    )
    for key, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(delivery, key, value)
    return bool(updated)


def _audit(delivery: Delivery, outcome: str, message: str, status: int | None = None, remote_id: str = "") -> None:
    """The delivery's own audit row for this attempt's outcome (the calls it made have theirs)."""
    record(
        AuditRecord.Kind.DELIVERY,
        delivery=delivery,
        event=delivery.event,
        connection=delivery.connection,
        outcome=outcome,
        status_code=status,
        remote_id=remote_id,
        message=message,
    )


def _wait(delivery: Delivery, reason: str) -> str:
    # Waiting for a reconnect or a resume does not use up an attempt.
    _finish(delivery, status=S.WAITING, attempts=F("attempts") - 1, last_error=reason, lease_until=None)
    delivery.attempts -= 1
    _audit(delivery, AuditRecord.Outcome.WAITING, reason)
    return "waiting"


def _retry_or_fail(delivery: Delivery, exc: ProviderError) -> str:
    now = timezone.now()
    if not exc.retryable or gives_up(delivery.first_attempt_at, delivery.attempts, now):
        return _fail(delivery, exc)
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return _defer(delivery, exc, now)
    delay = retry_delay(delivery.attempts, exc.retry_after)
    when = now + timedelta(seconds=delay)
    _finish(delivery, status=S.RETRYING, next_attempt_at=when, last_error=str(exc), lease_until=None)
    _audit(
        delivery,
        AuditRecord.Outcome.RETRY,
        f"attempt {delivery.attempts} failed: {exc}; retrying in {delay:.0f}s",
        exc.status,
    )
    return "retrying"


def _defer(delivery: Delivery, exc: RateLimited, now) -> str:
    """The provider (or our own pacing) named the time to come back: no backoff, no attempt used.

    The retry horizon still applies (it counts from the first attempt), so a provider that never
    stops refusing ends in "failed" like any other.
    """
    when = now + timedelta(seconds=exc.retry_after)
    _finish(
        delivery,
        status=S.RETRYING,
        next_attempt_at=when,
        attempts=F("attempts") - 1,
        last_error=str(exc),
        lease_until=None,
    )
    delivery.attempts -= 1
    _audit(delivery, AuditRecord.Outcome.RETRY, f"{exc}; trying again in {exc.retry_after:.1f}s as asked", exc.status)
    return "deferred"


def _fail(delivery: Delivery, exc: ProviderError) -> str:
    _finish(delivery, status=S.FAILED, last_error=str(exc), lease_until=None)
    note_error(delivery.connection, str(exc))
    _audit(delivery, AuditRecord.Outcome.ERROR, f"failed after {delivery.attempts} attempt(s): {exc}", exc.status)
    return "failed"
