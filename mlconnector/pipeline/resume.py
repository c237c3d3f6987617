"""When a connection becomes usable again, the work that waited for it continues by itself."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent


def resume_connection(conn) -> tuple[int, int]:
    now = timezone.now()
    deliveries = Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, dispatched_at=None, updated_at=now
    )
    events = InboundEvent.objects.filter(connection=conn, status=InboundEvent.Status.WAITING).update(
        status=InboundEvent.Status.RETRYING, next_attempt_at=now, dispatched_at=None
    )
    return deliveries, events


def resume_deliveries(deliveries: QuerySet[Delivery], reason: str) -> list[int]:
    """Deliveries an integration parked with `Waiting` go on: what they waited for is there again.
    Only waiting ones move (one conditional UPDATE each), each audited once with the reason."""
    from mlconnector.pipeline.dispatcher import enqueue_deliveries

    now = timezone.now()
    resumed = []
    for delivery in deliveries.filter(status=Delivery.Status.WAITING).select_related("event", "connection"):
        moved = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.WAITING).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, dispatched_at=None, updated_at=now
        )
        if moved:
            resumed.append(delivery.pk)
            record(
                AuditRecord.Kind.DELIVERY,
                delivery=delivery,
                event=delivery.event,
                connection=delivery.connection,
                outcome=AuditRecord.Outcome.INFO,
                message=f"resumed: {reason}",
            )
    enqueue_deliveries(resumed)
    return resumed


def waiting_counts(conn) -> dict[str, int]:
    return {
        "deliveries": Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).count(),
        "events": InboundEvent.objects.filter(connection=conn, status=InboundEvent.Status.WAITING).count(),
    }
