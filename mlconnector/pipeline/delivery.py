"""deliver(): run the target integration's sync for due deliveries and record each outcome.

The database owns the state (pipeline/work.py): a delivery is claimed with a conditional UPDATE (so
a duplicate dispatch is a no-op), runs under a lease (so only a dead worker can lose it, and the
dispatcher then recovers it), and finishes with an UPDATE fenced on the attempt it claimed.

A target that takes batches (`Integration.batch_size` > 1, e.g. HubSpot's 100 records a call) gets
several due deliveries of one connection in one deliver() call, through `sync_batch()`, and gives
one result per delivery back: each succeeds, retries or fails on its own, as in a 207 multi-status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.services import mark_needs_reconnect, note_error, note_success
from mlconnector.contract import SyncResult, UnknownProvider, registry
from mlconnector.http import AuditContext, ProviderError, Rejected, Unavailable, Waiting
from mlconnector.pipeline.models import Delivery, TargetVersion
from mlconnector.pipeline.work import DELIVERIES

log = logging.getLogger("mlconnector.pipeline")
S = Delivery.Status


def deliver(delivery_id: int) -> str:
    """One delivery (the django-q2 task the dispatcher hands out for unbatched targets)."""
    return deliver_batch([delivery_id])


def deliver_batch(delivery_ids: Iterable[int]) -> str:
    """Deliveries of one connection, written together when the target takes batches."""
    now = timezone.now()
    claimed = [pk for pk in delivery_ids if DELIVERIES.claim(pk, now, last_attempt_at=now)]
    if not claimed:
        return "not due or already taken"
    rows = list(Delivery.objects.select_related("event", "connection", "tenant").filter(pk__in=claimed).order_by("pk"))
    firsts = [d.pk for d in rows if d.first_attempt_at is None]
    if firsts:
        Delivery.objects.filter(pk__in=firsts, first_attempt_at__isnull=True).update(first_attempt_at=now)
        for d in rows:
            d.first_attempt_at = d.first_attempt_at or now
    outcomes: list[str] = []
    by_connection: dict[int, list[Delivery]] = {}
    for d in rows:
        by_connection.setdefault(d.connection_id, []).append(d)
    for group in by_connection.values():
        outcomes += _deliver_group(group)
    if len(outcomes) == 1:
        return outcomes[0]
    return ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))


def _deliver_group(group: list[Delivery]) -> list[str]:
    conn = group[0].connection
    if conn.status != Connection.Status.ACTIVE:
        reason = f"{conn.provider} connection is {conn.get_status_display().lower()}"
        return [_wait(d, reason) for d in group]
    try:
        integration = registry.get(conn.provider)(conn)
    except UnknownProvider:
        return [_fail(d, Rejected(f"no integration installed for {conn.provider}")) for d in group]
    results = _run(integration, group)
    outcomes = [_apply(d, results[d.pk], batch=len(group)) for d in group]
    if "succeeded" in outcomes:
        note_success(conn)
    return outcomes


def _run(integration, group: list[Delivery]) -> dict[int, SyncResult | Exception]:
    """Call the sync; an error that escapes it applies to every delivery of the group."""
    conn = group[0].connection
    try:
        if len(group) == 1:
            d = group[0]
            audit = AuditContext(tenant=d.tenant, connection=conn, event=d.event, delivery=d)
            results = {d.pk: integration.sync(d.event, d, audit)}
        else:
            results = integration.sync_batch(group, AuditContext(tenant=group[0].tenant, connection=conn))
    except ProviderError as exc:
        return {d.pk: exc for d in group}
    except Exception as exc:  # noqa: BLE001 - a bug must not lose deliveries; they retry, then wait for replay
        log.exception("delivery of %s crashed", [d.pk for d in group])
        error = Unavailable(f"internal error: {exc.__class__.__name__}: {exc}")
        return {d.pk: error for d in group}
    missing = Unavailable("the integration returned no result for this delivery")
    return {d.pk: results.get(d.pk, missing) for d in group}


def _apply(delivery: Delivery, result: SyncResult | Exception, *, batch: int) -> str:
    if isinstance(result, SyncResult):
        return _succeed(delivery, result, batch)
    exc = result if isinstance(result, ProviderError) else Unavailable(f"internal error: {result!r}")
    if isinstance(exc, Waiting):
        return _wait(delivery, str(exc))
    if exc.needs_reconnect:
        # The client marks the connection; make sure, or the parked delivery would never resume.
        conn = delivery.connection
        conn.refresh_from_db(fields=["status"])
        mark_needs_reconnect(conn, str(exc))
        return _wait(delivery, f"{conn.provider} needs reconnecting: {exc}")
    return _retry_or_fail(delivery, exc)


def _succeed(delivery: Delivery, result: SyncResult, batch: int) -> str:
    DELIVERIES.finish(
        delivery,
        status=S.SKIPPED if result.nothing_to_send else S.SUCCEEDED,
        succeeded_at=timezone.now(),
        remote_id=(result.remote_id or "")[:128],
        last_error="",
        resend=False,
    )
    if result.nothing_to_send:
        _audit(delivery, AuditRecord.Outcome.INFO, f"nothing to send: {result.message or 'nothing is addressed here'}")
        return "nothing to send"
    _remember_version(delivery)
    message = result.message or ("nothing to write" if result.noop else "delivered")
    if batch > 1:
        message += f" (in a batch of {batch})"
    _audit(delivery, AuditRecord.Outcome.OK, message, remote_id=result.remote_id)
    return "succeeded"


def _remember_version(delivery: Delivery) -> None:
    """The target now holds this version of the source record (a backfill skips it)."""
    event = delivery.event
    if not event.version:
        return
    TargetVersion.objects.update_or_create(
        connection_id=delivery.connection_id,
        record_type=event.event_type.split(".")[0][:32],
        object_id=event.object_id,
        defaults={"version": event.version},
    )


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
    DELIVERIES.wait(delivery, reason)
    _audit(delivery, AuditRecord.Outcome.WAITING, reason)
    return "waiting"


def _retry_or_fail(delivery: Delivery, exc: ProviderError) -> str:
    decision = DELIVERIES.retry_or_fail(delivery, exc)
    if decision.outcome == "failed":
        note_error(delivery.connection, str(exc))
        _audit(delivery, AuditRecord.Outcome.ERROR, f"failed after {delivery.attempts} attempt(s): {exc}", exc.status)
    elif decision.outcome == "deferred":
        _audit(
            delivery, AuditRecord.Outcome.RETRY, f"{exc}; trying again in {decision.delay:.1f}s as asked", exc.status
        )
    else:
        _audit(
            delivery,
            AuditRecord.Outcome.RETRY,
            f"attempt {delivery.attempts} failed: {exc}; retrying in {decision.delay:.0f}s",
            exc.status,
        )
    return decision.outcome


def _fail(delivery: Delivery, exc: ProviderError) -> str:
    DELIVERIES.finish(delivery, status=S.FAILED, last_error=str(exc))
    note_error(delivery.connection, str(exc))
    _audit(delivery, AuditRecord.Outcome.ERROR, f"failed after {delivery.attempts} attempt(s): {exc}", exc.status)
    return "failed"
