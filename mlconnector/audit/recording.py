"""Writing audit rows: one call, redacted on the way in, and a structured log line beside it."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.redaction import redact_mapping, redact_text, redact_url

log = logging.getLogger("mlconnector.audit")


def record(
    kind: str,
    *,
    tenant=None,
    connection=None,
    event=None,
    delivery=None,
    actor=None,
    outcome: str = AuditRecord.Outcome.INFO,
    message: str = "",
    provider: str = "",
    event_type: str = "",
    object_id: str = "",
    invoice_number: str = "",
    method: str = "",
    url: str = "",
    status_code: int | None = None,
    duration_ms: int | None = None,
    remote_id: str = "",
    payload: Any = None,
    created_at=None,
) -> AuditRecord:
    if connection is not None:
        tenant = tenant or connection.tenant_id and connection.tenant
        provider = provider or connection.provider
    if event is not None:
        tenant = tenant or event.tenant
        event_type = event_type or event.event_type
        object_id = object_id or event.object_id
        invoice_number = invoice_number or event.invoice_number
    if delivery is not None:
        tenant = tenant or delivery.tenant
    row = AuditRecord.objects.create(
        tenant=tenant,
        created_at=created_at or timezone.now(),
        kind=kind,
        outcome=outcome,
        provider=provider[:32],
        connection=connection,
        event=event,
        delivery=delivery,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        event_type=event_type[:64],
        object_id=str(object_id)[:64],
        invoice_number=str(invoice_number or "")[:64],
        method=method[:8],
        url=redact_url(url)[:500] if url else "",
        status_code=status_code,
        duration_ms=duration_ms,
        remote_id=str(remote_id or "")[:128],
        message=redact_text(message)[:4000],
        payload=redact_mapping(payload) if payload is not None else None,
    )
    log.info(
        "audit kind=%s outcome=%s tenant=%s provider=%s event=%s delivery=%s method=%s url=%s status=%s "
        "duration_ms=%s remote_id=%s message=%s",
        kind,
        outcome,
        getattr(tenant, "pk", tenant),
        provider,
        getattr(event, "pk", None),
        getattr(delivery, "pk", None),
        method,
        row.url,
        status_code,
        duration_ms,
        row.remote_id,
        row.message[:300],
    )
    return row
