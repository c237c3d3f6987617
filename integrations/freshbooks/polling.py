"""The polling backstop: FreshBooks webhook delivery is best-effort (retries and auto-disable are
undocumented), so every FRESHBOOKS_POLL_MINUTES each connection re-reads what changed since its last
sweep, minus an overlap window, and feeds anything the webhooks missed into the same pipeline.

`search[updated_min]` works at day granularity in US/Eastern and is reportedly not honoured
everywhere, so the overlap is generous and every record is compared with the version already fanned
out (SourceRecord): unchanged records cost nothing, and a pending duplicate is not stored twice.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from mlconnector.connections.models import Connection
from mlconnector.contract import PulledRecord
from mlconnector.http import AuditContext
from mlconnector.pipeline.models import PollCursor, SourceRecord
from mlconnector.webhooks.models import InboundEvent

EASTERN = ZoneInfo("America/New_York")
POLLED_TYPES = ("invoice", "payment", "client", "bill", "expense")


def poll_all() -> str:
    ids = list(
        Connection.objects.filter(provider="freshbooks", status=Connection.Status.ACTIVE).values_list("pk", flat=True)
    )
    for pk in ids:
        async_task("integrations.freshbooks.polling.poll_connection", pk, task_name=f"fb-poll-{pk}")
    return f"{len(ids)} connections"


def pull(integration, since, audit: AuditContext):
    """Every record of the polled types changed on or after `since` (a datetime)."""
    client = integration.client(audit)
    day = since.astimezone(EASTERN).date()
    for record_type in POLLED_TYPES:
        for record in client.iter_records(integration.account_id, record_type, search={"updated_min": day}):
            yield PulledRecord(record_type=record_type, object_id=str(record.get("id") or ""), record=record)


def poll_connection(connection_id: int) -> str:
    from integrations.freshbooks.callbacks import consumed_events, resend_due

    conn = Connection.objects.filter(pk=connection_id, status=Connection.Status.ACTIVE).first()
    if conn is None or not conn.config.get("account_id"):
        return "not active"
    # Webhooks still unverified ask FreshBooks for their code again (with backoff), from here
    # until the core gives resend_due a per-connection schedule of its own.
    resend_due(conn.pk)
    wanted = consumed_events(conn)
    if not wanted:
        return "nothing consumes FreshBooks events"
    integration = conn.integration
    audit = AuditContext(tenant=conn.tenant, connection=conn)
    cursor, _ = PollCursor.objects.get_or_create(connection=conn, resource="all")
    started = timezone.now()
    overlap = timedelta(seconds=settings.FRESHBOOKS_POLL_OVERLAP_SECONDS)
    since = (cursor.since or started) - overlap
    found = 0
    for pulled in integration.pull(since, audit):
        if not pulled.object_id:
            continue
        found += _feed(conn, integration, pulled, wanted, started)
    PollCursor.objects.filter(pk=cursor.pk).update(since=started, last_run_at=timezone.now())
    return f"{found} missed records fed"


def _feed(conn, integration, pulled: PulledRecord, wanted: set[str], now) -> int:
    # The version leaves out what enrichment attaches, so a list-page record compares equal to the
    # fetched one; an older modification time means the webhook path already has something newer.
    enriched = integration.enrich_record(pulled.record_type, pulled.record)
    seen = SourceRecord.objects.filter(
        connection=conn, record_type=pulled.record_type, object_id=pulled.object_id
    ).first()
    if seen is not None and (
        seen.version == enriched.version or (enriched.updated and seen.updated and enriched.updated < seen.updated)
    ):
        return 0
    event_type = f"{pulled.record_type}.{'update' if seen else 'create'}"
    if event_type not in wanted:
        return 0
    key = hashlib.sha256(
        f"{conn.pk}\x00poll\x00{pulled.record_type}\x00{pulled.object_id}\x00{enriched.version}".encode()
    )
    key = key.hexdigest()
    InboundEvent.objects.bulk_create(
        [
            InboundEvent(
                tenant_id=conn.tenant_id,
                connection=conn,
                provider=conn.provider,
                source=InboundEvent.Source.POLL,
                event_type=event_type,
                object_id=pulled.object_id,
                account_id=conn.config.get("account_id", ""),
                dedupe_key=key,
                next_attempt_at=now,
                received_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    return 1
