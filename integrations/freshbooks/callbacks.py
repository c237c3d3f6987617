"""Registering FreshBooks webhooks ("callbacks"); the callback.verify handshake is in handshake.py.

ensure_callbacks registers, for each FreshBooks connection, the events its tenant's other
connections consume (run whenever any connection of the tenant becomes active). Only callbacks
registered here, from FreshBooks' create or list responses, are ever verified: a handshake for any
other callback id is dropped. FreshBooks may POST a new callback's handshake before it answers the
create call, so while registering, codes for ids we can't know yet are parked briefly (handshake.py)
and claimed once the create call has answered.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver
from django.utils import timezone
from django_q.tasks import async_task

from integrations.freshbooks.handshake import (  # noqa: F401 - re-exported: the tasks' dotted paths
    CONFIRM_TASK,
    NOTHING_DUE,
    REGISTERING_SECONDS,
    candidates_of,
    confirm_callback,
    drop_parked,
    registering_key,
    resend_delay,
    resend_due,
)
from integrations.freshbooks.models import FreshBooksCallback
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.services import note_error
from mlconnector.connections.signals import connection_activated
from mlconnector.contract import registry
from mlconnector.http import AuditContext, ProviderError

log = logging.getLogger("integrations.freshbooks")
PROVIDER = "freshbooks"


def webhook_uri(conn: Connection) -> str:
    return f"{settings.MLCONNECTOR_PUBLIC_URL}/hooks/{PROVIDER}/{conn.endpoint_key}/"


def consumed_events(conn: Connection) -> set[str]:
    """Events the tenant's other connections consume (what must reach them)."""
    produces = registry.get(PROVIDER).produces
    wanted: set[str] = set()
    for other in (
        Connection.objects.for_tenant(conn.tenant_id)
        .exclude(pk=conn.pk)
        .exclude(status__in=[Connection.Status.DISCONNECTED, Connection.Status.PENDING])
    ):
        try:
            wanted |= registry.get(other.provider).consumes_from(PROVIDER)
        except LookupError:
            continue
    return wanted & produces


def needed_events(conn: Connection) -> set[str]:
    """Webhooks to register: what is consumed, plus a baseline (FRESHBOOKS_WEBHOOK_EVENTS) so the
    audit trail shows the books' activity from the moment FreshBooks is connected."""
    produces = registry.get(PROVIDER).produces
    return consumed_events(conn) | (set(settings.FRESHBOOKS_WEBHOOK_EVENTS) & produces)


@receiver(connection_activated)
def _on_activated(sender, connection: Connection, **kwargs):
    for fb in Connection.objects.for_tenant(connection.tenant_id).filter(
        provider=PROVIDER, status=Connection.Status.ACTIVE
    ):
        async_task("integrations.freshbooks.callbacks.ensure_callbacks", fb.pk, task_name=f"fb-callbacks-{fb.pk}")


def ensure_callbacks(connection_id: int) -> str:
    conn = Connection.objects.filter(pk=connection_id, status=Connection.Status.ACTIVE).first()
    if conn is None or not conn.config.get("account_id"):
        return "not active"
    try:
        registered = _ensure(conn)
    except ProviderError as exc:
        # The polling backstop covers the gap; the next activation or poll run tries again.
        note_error(conn, f"could not register webhooks: {exc}")
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"could not register FreshBooks webhooks: {exc}",
        )
        return "failed"
    # Until the core runs resend_due on its own schedule, it runs here and from each poll.
    handshakes = resend_due(conn.pk)
    return registered if handshakes == NOTHING_DUE else f"{registered}; {handshakes}"


def _ensure(conn: Connection) -> str:
    from integrations.freshbooks.client import FreshBooksClient

    account = conn.config["account_id"]
    uri = webhook_uri(conn)
    client = FreshBooksClient(conn, audit=AuditContext(tenant=conn.tenant, connection=conn))
    now = timezone.now()
    remote = [cb for cb in client.list_callbacks(account) if cb.get("uri") == uri]
    registered = {cb.get("event") for cb in remote}
    for cb in remote:
        row, _ = FreshBooksCallback.objects.update_or_create(
            connection=conn,
            callback_id=str(cb["callbackid"]),
            defaults={"tenant_id": conn.tenant_id, "event": cb.get("event", ""), "uri": uri},
            # Unverified and unknown to us until now: its code is lost, so ask again right away.
            create_defaults={
                "tenant_id": conn.tenant_id,
                "event": cb.get("event", ""),
                "uri": uri,
                "next_resend_at": now,
            },
        )
        if not cb.get("verified") and row.verified and row.verified_at and row.verified_at < now:
            # FreshBooks no longer counts it as verified (a resend replaced the code): neither do we.
            # (Verified after the list was fetched: the list is what is out of date.)
            FreshBooksCallback.objects.filter(pk=row.pk).update(verified=False, next_resend_at=now)
        elif not row.verified and row.next_resend_at is None:
            FreshBooksCallback.objects.filter(pk=row.pk).update(next_resend_at=now)
    created: list[str] = []
    new_rows: list[int] = []
    # FreshBooks may POST the handshake before it answers the create call: while the window is
    # open, receive_code parks codes for ids we can't know yet; they are claimed or dropped below.
    window = registering_key(conn.pk)
    cache.set(window, 1, timeout=REGISTERING_SECONDS)
    try:
        for event in sorted(needed_events(conn) - registered):
            cb = client.create_callback(account, event, uri)
            if cb.get("callbackid") is None:
                continue
            row, _ = FreshBooksCallback.objects.update_or_create(
                connection=conn,
                callback_id=str(cb["callbackid"]),
                defaults={"tenant_id": conn.tenant_id, "event": event, "uri": uri},
                create_defaults={
                    "tenant_id": conn.tenant_id,
                    "event": event,
                    "uri": uri,
                    "next_resend_at": timezone.now() + resend_delay(0),
                },
            )
            created.append(event)
            new_rows.append(row.pk)
    finally:
        cache.delete(window)
        drop_parked(conn.pk)
        for row in FreshBooksCallback.objects.filter(pk__in=new_rows):
            if candidates_of(row).exists():
                async_task(CONFIRM_TASK, row.pk, task_name=f"fb-verify-{row.pk}")
    if created:
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            outcome=AuditRecord.Outcome.OK,
            message=f"registered FreshBooks webhooks: {', '.join(created)}",
        )
    return f"registered {len(created)}"
