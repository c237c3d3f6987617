"""When a connection becomes usable again, the work that waited for it continues by itself."""

from __future__ import annotations

from django.utils import timezone

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


def waiting_counts(conn) -> dict[str, int]:
    return {
        "deliveries": Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).count(),
        "events": InboundEvent.objects.filter(connection=conn, status=InboundEvent.Status.WAITING).count(),
    }
