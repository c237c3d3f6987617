"""Backfill: copy what a source already holds into one target, resumably and without duplicates.

A person presses "Backfill from FreshBooks" on a target's connection page (HubSpot, Salesforce). The
backfill reads the source page by page (`Integration.pull_page`, 100 records a page), in the order the
target declares (`Integration.backfill_types`: clients before the invoices that need them), and for
each record not already in the target at that version stores an event (source "backfill") with one
Delivery to that target only: the other targets never see history replayed. Deliveries then flow
through the one pipeline, batched for targets that take batches.

Each step reads one page and is one unit of work on the shared state machine (pipeline/work.py): a
worker killed mid-step leaves its lease to expire and the page is read again; the events of a page,
its deliveries and the cursor move in one transaction, and an event already stored for a record and
version is not stored twice. So a backfill resumes where it stopped, and running it twice writes
nothing new (records already delivered at their version are counted as skipped).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.contract import UnknownProvider, registry
from mlconnector.http import AuditContext, ProviderError, Unavailable
from mlconnector.pipeline.models import Backfill, Delivery, TargetVersion
from mlconnector.pipeline.work import BACKFILLS
from mlconnector.search import index_event
from mlconnector.webhooks.models import InboundEvent

log = logging.getLogger("mlconnector.backfill")
B = Backfill.Status
PER_PAGE = 100


class BackfillRefused(ValueError):
    """A backfill cannot start (nothing to read from, one already running, nothing to copy)."""


def start(target: Connection, *, actor=None, record_types: list[str] | None = None) -> Backfill:
    integration = _integration(target)
    types = [t for t in integration.backfill_types if record_types is None or t in record_types]
    if not types:
        raise BackfillRefused(f"{target.get_provider_label()} has nothing to backfill")
    source = (
        Connection.objects.for_tenant(target.tenant_id)
        .filter(provider=integration.backfill_source, status=Connection.Status.ACTIVE)
        .order_by("pk")
        .first()
    )
    if source is None:
        raise BackfillRefused(f"connect {integration.backfill_source} first: a backfill reads from it")
    if Backfill.objects.filter(target=target, status__in=[*BACKFILLS.due, B.RUNNING]).exists():
        raise BackfillRefused("a backfill of this connection is already running")
    now = timezone.now()
    backfill = Backfill.objects.create(
        tenant_id=target.tenant_id,
        source=source,
        target=target,
        record_types=types,
        requested_by=actor,
        next_attempt_at=now,
    )
    record(
        AuditRecord.Kind.CONNECTION,
        connection=target,
        actor=actor,
        message=f"backfill from {source.get_provider_label()} started: {', '.join(types)}",
    )
    return backfill


def cancel(backfill: Backfill, *, actor=None) -> bool:
    stopped = Backfill.objects.filter(pk=backfill.pk, status__in=[*BACKFILLS.due, B.RUNNING]).update(
        status=B.CANCELLED, finished_at=timezone.now(), lease_until=None, lease_owner=""
    )
    if stopped:
        record(AuditRecord.Kind.CONNECTION, connection=backfill.target, actor=actor, message="backfill cancelled")
    return bool(stopped)


def run_step(backfill_id: int) -> str:
    """Read one page of the source and queue what the target lacks."""
    now = timezone.now()
    if not BACKFILLS.claim(backfill_id, now):
        return "not due or already taken"
    backfill = Backfill.objects.select_related("source", "target", "tenant").get(pk=backfill_id)
    if backfill.started_at is None:
        Backfill.objects.filter(pk=backfill.pk).update(started_at=now)
    source, target = backfill.source, backfill.target
    for conn in (source, target):
        if conn.status != Connection.Status.ACTIVE:
            BACKFILLS.finish(backfill, status=B.RETRYING, next_attempt_at=now + timedelta(minutes=1), attempts=0)
            return f"waiting: {conn.get_provider_label()} is {conn.get_status_display().lower()}"
    record_type = backfill.record_types[backfill.type_index]
    audit = AuditContext(tenant=backfill.tenant, connection=source)
    reader = _integration(source)
    totals = dict(backfill.totals or {})
    try:
        for kind in backfill.record_types:  # every total first, so the progress bar is true at once
            if kind not in totals:
                totals[kind] = reader.pull_page(kind, 1, 1, audit).total
        page = reader.pull_page(record_type, backfill.page, PER_PAGE, audit)
    except ProviderError as exc:
        return _retry(backfill, exc)
    except Exception as exc:  # noqa: BLE001 - a bug in one step: retried, then failed with its reason
        log.exception("backfill %s crashed", backfill.pk)
        return _retry(backfill, Unavailable(f"internal error: {exc.__class__.__name__}: {exc}"))
    totals[record_type] = page.total
    last_page = backfill.page >= page.pages or not page.records
    last_type = backfill.type_index + 1 >= len(backfill.record_types)
    if last_page and last_type:
        position = dict(status=B.LISTED, finished_listing_at=timezone.now())
    elif last_page:
        position = dict(status=B.PENDING, type_index=backfill.type_index + 1, page=1, next_attempt_at=timezone.now())
    else:
        position = dict(status=B.PENDING, page=backfill.page + 1, next_attempt_at=timezone.now())
    # The page's events and deliveries, its counts and the cursor commit together, fenced on this
    # attempt: a step whose worker died is redone from the same page, and counted once.
    try:
        with transaction.atomic():
            queued, skipped = _queue(backfill, record_type, page.records)
            moved = BACKFILLS.finish(
                backfill,
                listed=backfill.listed + len(page.records),
                queued=backfill.queued + queued,
                skipped=backfill.skipped + skipped,
                totals=totals,
                attempts=0,
                last_error="",
                progress_at=timezone.now(),
                **position,
            )
            if not moved:
                raise _LostLease
    except _LostLease:
        return "lost its lease: the step is redone by whoever took it"
    if position["status"] == B.LISTED:
        return f"listed everything: {backfill.queued} queued, {backfill.skipped} already there"
    return f"{record_type} page {page.number}: {queued} queued, {skipped} already there"


class _LostLease(Exception):
    pass


def _queue(backfill: Backfill, record_type: str, records: list[dict]) -> tuple[int, int]:
    """A page's events and deliveries (inside the step's transaction)."""
    source_integration = _integration(backfill.source)
    consumed = _integration(backfill.target).consumes_from(backfill.source.provider)
    event_type = next((f"{record_type}.{a}" for a in ("create", "update") if f"{record_type}.{a}" in consumed), "")
    if not event_type:
        return 0, len(records)
    now = timezone.now()
    queued = skipped = 0
    for rec in records:
        enriched = source_integration.enrich_record(record_type, rec)
        object_id = str(rec.get("id") or "")
        if not object_id:
            skipped += 1
            continue
        delivered = TargetVersion.objects.filter(
            connection=backfill.target, record_type=record_type, object_id=object_id, version=enriched.version
        ).exists()
        key = _key(backfill, record_type, object_id, enriched.version)
        if delivered or InboundEvent.objects.filter(backfill=backfill, dedupe_key=key).exists():
            skipped += delivered
            continue
        event = InboundEvent.objects.create(
            tenant_id=backfill.tenant_id,
            connection=backfill.source,
            provider=backfill.source.provider,
            source=InboundEvent.Source.BACKFILL,
            backfill=backfill,
            event_type=event_type,
            object_id=object_id[:64],
            account_id=str(backfill.source.config.get("account_id", ""))[:64],
            dedupe_key=key,
            status=InboundEvent.Status.PROCESSED,
            payload=enriched.record,
            version=enriched.version,
            invoice_number=(enriched.invoice_number or "")[:64],
            counterparty=(enriched.counterparty or "")[:200],
            amount=enriched.amount,
            currency=(enriched.currency or "")[:3],
            next_attempt_at=now,
            received_at=now,
            processed_at=now,
        )
        index_event(event)
        Delivery.objects.create(
            tenant_id=backfill.tenant_id,
            event=event,
            connection=backfill.target,
            provider=backfill.target.provider,
            event_type=event_type,
            next_attempt_at=_integration(backfill.target).deliver_at(backfill.target, now),
        )
        queued += 1
    return queued, skipped


def _key(backfill: Backfill, record_type: str, object_id: str, version: str) -> str:
    raw = f"backfill\x00{backfill.pk}\x00{record_type}\x00{object_id}\x00{version}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _retry(backfill: Backfill, exc: ProviderError) -> str:
    decision = BACKFILLS.retry_or_fail(backfill, exc)
    if decision.outcome == "failed":
        Backfill.objects.filter(pk=backfill.pk).update(finished_at=timezone.now())
        record(
            AuditRecord.Kind.CONNECTION,
            connection=backfill.target,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"backfill stopped: could not read from {backfill.source.get_provider_label()}: {exc}",
        )
    return decision.outcome


def _integration(conn: Connection):
    try:
        return registry.get(conn.provider)(conn)
    except UnknownProvider:
        raise BackfillRefused(f"no integration installed for {conn.provider}") from None


def progress(backfill: Backfill) -> dict:
    """What the connection page and the API show: done / total, rate and time left. Every number is
    counted from rows, so it is true at any moment."""
    counts = Delivery.objects.filter(event__backfill=backfill).aggregate(
        succeeded=Count("pk", filter=Q(status=Delivery.Status.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        open=Count("pk", filter=~Q(status__in=[Delivery.Status.SUCCEEDED, Delivery.Status.FAILED])),
    )
    total = sum((backfill.totals or {}).values())
    done = counts["succeeded"] + backfill.skipped
    until = backfill.finished_at or timezone.now()
    elapsed = (until - backfill.started_at).total_seconds() if backfill.started_at else 0
    rate = counts["succeeded"] / elapsed if elapsed > 0 else 0.0
    remaining = max(0, total - done - counts["failed"])
    finished = backfill.status == B.LISTED and counts["open"] == 0
    return {
        "status": "finished" if finished else backfill.get_status_display().lower(),
        "total": total,
        "listed": backfill.listed,
        "done": done,
        "delivered": counts["succeeded"],
        "skipped": backfill.skipped,
        "failed": counts["failed"],
        "waiting": counts["open"],
        "percent": int(100 * done / total) if total else (100 if finished else 0),
        "per_second": round(rate, 1),
        "seconds_left": int(remaining / rate) if rate and not finished else None,
        "finished": finished,
    }
