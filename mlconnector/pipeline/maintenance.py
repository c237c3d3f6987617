"""Pruning: audit rows past retention, finished events past retention, django-q2's own results, and the
API's stored idempotent answers once their key has expired."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.webhooks.models import InboundEvent


def prune() -> str:
    cutoff = timezone.now() - timedelta(days=settings.MLCONNECTOR_AUDIT_RETENTION_DAYS)
    audit, _ = AuditRecord.objects.filter(created_at__lt=cutoff).delete()
    # Only events whose deliveries all finished; failed work stays until someone deals with it.
    finished = (
        InboundEvent.objects.filter(received_at__lt=cutoff)
        .exclude(deliveries__status__in=["pending", "running", "retrying", "waiting", "failed"])
        .exclude(status__in=["received", "processing", "retrying", "waiting", "failed"])
    )
    events, _ = finished.delete()
    from mlconnector.api.models import IdempotencyKey
    from mlconnector.api.v1.base import IDEMPOTENCY_TTL

    keys, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    return f"pruned {audit} audit rows, {events} event rows, {keys} idempotency keys"
