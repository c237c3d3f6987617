"""process_inbound(event_id): enrich a stored event and fan it out, one Delivery per target.

Runs in a worker. Enrichment fetches the full record with the tenant's token (FreshBooks webhooks
carry ids only). A record whose version we already fanned out (a redelivery after processing, or
the polling backstop finding what a webhook already brought) is a no-op. The version check, the
event's new status and the deliveries are written in one transaction, so a crash in between can
neither lose the fan-out nor repeat it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.services import mark_needs_reconnect, note_success
from mlconnector.contract import Enriched, registry
from mlconnector.http import AuditContext, ProviderError, Unavailable
from mlconnector.pipeline.models import Delivery, SourceRecord
from mlconnector.pipeline.work import EVENTS
from mlconnector.search import index_event
from mlconnector.webhooks.models import InboundEvent

log = logging.getLogger("mlconnector.webhooks")
S = InboundEvent.Status


def process_inbound(event_id: int) -> str:
    if not EVENTS.claim(event_id):
        return "not due or already taken"
    event = InboundEvent.objects.select_related("connection", "tenant").get(pk=event_id)
    source = event.connection
    if event.attempts == 1:
        record(
            AuditRecord.Kind.WEBHOOK_ACCEPTED
            if event.source == event.Source.WEBHOOK
            else AuditRecord.Kind.EVENT_POLLED,
            event=event,
            connection=source,
            outcome=AuditRecord.Outcome.OK,
            created_at=event.received_at,
            message=f"{event.event_type} {event.object_id} "
            + ("verified and stored" if event.source == event.Source.WEBHOOK else "found by the polling backstop"),
            payload={"headers": event.headers},
        )
    if source.status != Connection.Status.ACTIVE:
        return _wait(event, f"{source.provider} connection is {source.get_status_display().lower()}")

    integration = registry.get(source.provider)(source)
    if event.event_type not in integration.produces:
        EVENTS.finish(event, status=S.IGNORED, processed_at=timezone.now())
        record(
            AuditRecord.Kind.EVENT_IGNORED,
            event=event,
            connection=source,
            message=f"{event.event_type} is not an event ml-connector handles",
        )
        return "ignored"

    audit = AuditContext(tenant=event.tenant, connection=source, event=event)
    try:
        if event.payload is not None:
            enriched = integration.enrich_record(event.event_type.split(".")[0], event.payload)
        else:
            enriched = integration.enrich(event.event_type, event.object_id, audit)
    except ProviderError as exc:
        if exc.needs_reconnect:
            source.refresh_from_db(fields=["status"])
            mark_needs_reconnect(source, str(exc))
            return _wait(event, f"{source.provider} needs reconnecting: {exc}")
        return _retry_or_fail(event, exc)
    except Exception as exc:  # noqa: BLE001 - never lose the event to a bug; retry, then wait for replay
        log.exception("processing event %s crashed", event.pk)
        return _retry_or_fail(event, Unavailable(f"internal error: {exc.__class__.__name__}: {exc}"))

    note_success(source)
    return _fan_out(event, source, enriched)


def _fan_out(event: InboundEvent, source: Connection, enriched: Enriched) -> str:
    targets = [
        conn
        for conn in Connection.objects.for_tenant(event.tenant_id)
        .exclude(pk=source.pk)
        .exclude(status__in=[Connection.Status.DISCONNECTED, Connection.Status.PENDING])
        if (event.provider, event.event_type) in _consumes(conn.provider)
    ]
    now = timezone.now()
    summary = dict(
        payload=enriched.record,
        version=enriched.version,
        invoice_number=(enriched.invoice_number or "")[:64],
        counterparty=(enriched.counterparty or "")[:200],
        amount=enriched.amount,
        currency=(enriched.currency or "")[:3],
        processed_at=now,
    )
    with transaction.atomic():
        seen, created = SourceRecord.objects.select_for_update().get_or_create(
            connection=source,
            record_type=enriched.record_type,
            object_id=event.object_id,
            defaults={"tenant_id": event.tenant_id, "version": enriched.version, "updated": enriched.updated},
        )
        stale = not created and (
            seen.version == enriched.version or (enriched.updated and seen.updated and enriched.updated < seen.updated)
        )
        if stale:
            EVENTS.finish(event, status=S.DUPLICATE, **summary)
            index_event(event)
        else:
            if not created:
                seen.version, seen.updated = enriched.version, enriched.updated
                seen.save(update_fields=["version", "updated", "seen_at"])
            EVENTS.finish(event, status=S.PROCESSED, **summary)
            index_event(event)
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        tenant_id=event.tenant_id,
                        event=event,
                        connection=conn,
                        provider=conn.provider,
                        event_type=event.event_type,
                        next_attempt_at=registry.get(conn.provider)(conn).deliver_at(conn, now),
                    )
                    for conn in targets
                ],
                ignore_conflicts=True,
            )
    record(
        AuditRecord.Kind.EVENT_ENRICHED,
        event=event,
        connection=source,
        outcome=AuditRecord.Outcome.OK,
        message=_describe(enriched),
        payload={"record": enriched.record},
    )
    if stale:
        record(
            AuditRecord.Kind.EVENT_DUPLICATE,
            event=event,
            connection=source,
            message="this version was already delivered; nothing to do",
        )
        return "duplicate"
    record(
        AuditRecord.Kind.EVENT_FANNED_OUT,
        event=event,
        connection=source,
        outcome=AuditRecord.Outcome.OK,
        message=(
            f"{len(targets)} {'delivery' if len(targets) == 1 else 'deliveries'}: "
            + ", ".join(f"{c.get_provider_label()} ({c.name or c.external_account_id or c.pk})" for c in targets)
        )
        if targets
        else "no connected integration takes this event",
    )
    if targets:
        from mlconnector.pipeline.dispatcher import enqueue_deliveries

        enqueue_deliveries(
            Delivery.objects.filter(event=event, status=Delivery.Status.PENDING).values_list("pk", flat=True)
        )
    return f"fanned out to {len(targets)}"


def _consumes(provider: str) -> frozenset[tuple[str, str]]:
    try:
        return registry.get(provider).consumes()
    except LookupError:
        return frozenset()


def _describe(enriched: Enriched) -> str:
    parts = [enriched.record_type]
    if enriched.invoice_number:
        parts.append(f"#{enriched.invoice_number}")
    if enriched.counterparty:
        parts.append(enriched.counterparty)
    if enriched.amount is not None:
        parts.append(f"{enriched.amount:,.2f} {enriched.currency}".strip())  # grouped, as on every page
    return " · ".join(parts)


def _wait(event: InboundEvent, reason: str) -> str:
    EVENTS.wait(event, reason)
    record(
        AuditRecord.Kind.EVENT_FAILED,
        event=event,
        connection=event.connection,
        outcome=AuditRecord.Outcome.WAITING,
        message=reason,
    )
    return "waiting"


def _retry_or_fail(event: InboundEvent, exc: ProviderError) -> str:
    decision = EVENTS.retry_or_fail(event, exc)
    if decision.outcome == "failed":
        outcome, message = AuditRecord.Outcome.ERROR, f"could not fetch the record: {exc}"
    elif decision.outcome == "deferred":
        outcome = AuditRecord.Outcome.RETRY
        message = f"could not fetch the record: {exc}; trying again in {decision.delay:.1f}s as asked"
    else:
        outcome = AuditRecord.Outcome.RETRY
        message = f"could not fetch the record (attempt {event.attempts}): {exc}; retrying in {decision.delay:.0f}s"
    record(
        AuditRecord.Kind.EVENT_FAILED,
        event=event,
        connection=event.connection,
        outcome=outcome,
        status_code=exc.status,
        message=message,
    )
    return decision.outcome
