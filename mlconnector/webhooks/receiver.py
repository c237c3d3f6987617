"""The one webhook receiver: verify, store, acknowledge. Nothing else on this path.

Both the Django view and the lean WSGI fast path (mlconnector/wsgi.py) call `receive()`. It makes
no provider call and one durable write (the InboundEvent rows, committed before the 2xx). The
worker-side `process_inbound` does everything slow: enrichment, fan-out, the audit narrative.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.audit.redaction import redact_headers
from mlconnector.contract import BadSignature, MalformedWebhook, WebhookRequest, registry
from mlconnector.webhooks import endpoints
from mlconnector.webhooks.store import NewEvent, insert_events

log = logging.getLogger("mlconnector.webhooks")

# Headers worth keeping with the event (redacted); the rest is noise.
KEPT_HEADERS = ("content-type", "user-agent", "origin", "x-forwarded-for", "x-request-id")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def max_bytes(provider: str) -> int:
    """The largest body accepted for this provider: the setting, or more where a provider says so."""
    try:
        own = registry.get(provider).webhook_max_bytes
    except LookupError:
        own = 0
    return max(settings.MLCONNECTOR_WEBHOOK_MAX_BYTES, own)


def receive(provider: str, endpoint_key: str, body: bytes, headers: dict[str, str], content_type: str = "") -> Reply:
    """Handle one POST to /hooks/<provider>/<endpoint_key>/. `headers` must have lower-case names."""
    if len(body) > max_bytes(provider):
        return too_large(provider, len(body), headers)
    endpoint = endpoints.lookup(provider, endpoint_key)
    if endpoint is None:
        _reject(None, provider, 404, "unknown webhook endpoint", headers)
        return Reply(404, b"unknown endpoint")
    integration = registry.get(provider)
    request = WebhookRequest(body=body, headers=headers, content_type=content_type)

    handshake = integration.handshake(endpoint, request)
    if handshake is not None:
        return Reply(handshake.status, handshake.body, handshake.content_type)

    try:
        events = _verify(integration, endpoint, request, provider, endpoint_key)
    except MalformedWebhook as exc:
        _reject(endpoint, provider, 400, f"malformed: {exc.reason}", headers)
        return Reply(400, f"malformed webhook: {exc.reason}".encode())
    except BadSignature as exc:
        _reject(endpoint, provider, 401, f"signature rejected: {exc.reason}", headers)
        return Reply(401, b"invalid signature")

    now = timezone.now()
    # Only headers worth keeping, and none of them carries a secret (the signature is not kept).
    kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
    # ON CONFLICT DO NOTHING: a redelivery of an event still waiting to be processed is a no-op.
    insert_events(
        [
            NewEvent(
                tenant_id=endpoint.tenant_id,
                connection_id=endpoint.connection_id,
                provider=provider,
                event_type=event.event_type[:64],
                object_id=str(event.object_id)[:64],
                account_id=str(event.account_id)[:64],
                dedupe_key=event.dedupe_key or dedupe_key(endpoint.connection_id, body),
                raw_body=event.raw if event.raw is not None else body,
                headers=kept,
                received_at=now,
            )
            for event in events
        ]
    )
    return Reply(200, b"ok")


def too_large(provider: str, length: int, headers: dict[str, str]) -> Reply:
    """Refuse a body over MLCONNECTOR_WEBHOOK_MAX_BYTES (called before reading it when the length is declared)."""
    _reject(None, provider, 413, f"body of {length} bytes exceeds the limit", headers)
    return Reply(413, b"payload too large")


def dedupe_key(connection_id: int, *parts: bytes | str) -> str:
    digest = hashlib.sha256(str(connection_id).encode())
    for part in parts:
        digest.update(b"\x00")
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8"))
    return digest.hexdigest()


def _verify(integration, endpoint, request, provider, endpoint_key):
    try:
        return integration.verify_webhook(endpoint, request)
    except BadSignature:
        # The cached verification material may predate a handshake done a moment ago elsewhere.
        fresh = endpoints.lookup(provider, endpoint_key, fresh=True)
        if fresh is None:
            raise
        return integration.verify_webhook(fresh, request)


def _reject(endpoint, provider: str, status: int, reason: str, headers: dict[str, str]) -> None:
    from mlconnector.tenants.models import Tenant

    # Anyone can POST garbage: past a per-minute budget per endpoint, rejections are only logged,
    # so a flood cannot fill the audit trail (or the disk) with rows.
    scope = f"{provider}:{endpoint.connection_id if endpoint else 'unknown'}"
    if not _within_audit_budget(scope):
        log.warning("webhook rejected (audit budget spent for %s): %s %s", scope, status, reason)
        return
    tenant = Tenant(pk=endpoint.tenant_id) if endpoint else None
    record(
        AuditRecord.Kind.WEBHOOK_REJECTED,
        tenant=tenant,
        provider=provider,
        outcome=AuditRecord.Outcome.REJECTED,
        status_code=status,
        message=reason,
        payload={"headers": redact_headers(headers)},
    )


def _within_audit_budget(scope: str) -> bool:
    from django.core.cache import cache

    key = f"mlc:rejected:{scope}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        return True
    return count <= settings.MLCONNECTOR_REJECTED_AUDIT_PER_MINUTE
