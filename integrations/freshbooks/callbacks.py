"""Registering FreshBooks webhooks ("callbacks") and the callback.verify handshake.

1. ensure_callbacks: register, for each FreshBooks connection, the events its tenant's other
   connections consume (run whenever any connection of the tenant becomes active).
2. FreshBooks POSTs name=callback.verify&object_id=<callback id>&verifier=<code> to the URI; the
   receiver stores the verifier encrypted as *pending* and answers 200 at once (handshake()).
3. confirm_callback (a worker task) PUTs the verifier back; only when FreshBooks accepts it does it
   become the key that verifies deliveries, so a forged callback.verify can't plant a key.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django_q.tasks import async_task

from integrations.freshbooks.models import FreshBooksCallback
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.services import note_error
from mlconnector.connections.signals import connection_activated
from mlconnector.contract import registry
from mlconnector.http import AuditContext, ProviderError
from mlconnector.webhooks import endpoints

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
        return _ensure(conn)
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


def _ensure(conn: Connection) -> str:
    from integrations.freshbooks.client import FreshBooksClient

    account = conn.config["account_id"]
    uri = webhook_uri(conn)
    client = FreshBooksClient(conn, audit=AuditContext(tenant=conn.tenant, connection=conn))
    remote = [cb for cb in client.list_callbacks(account) if cb.get("uri") == uri]
    registered = {cb.get("event") for cb in remote}
    for cb in remote:
        FreshBooksCallback.objects.update_or_create(
            connection=conn,
            callback_id=str(cb["callbackid"]),
            defaults={"tenant_id": conn.tenant_id, "event": cb.get("event", ""), "uri": uri},
        )
    created = []
    for event in sorted(needed_events(conn) - registered):
        cb = client.create_callback(account, event, uri)
        if cb.get("callbackid") is None:
            continue
        FreshBooksCallback.objects.update_or_create(
            connection=conn,
            callback_id=str(cb["callbackid"]),
            defaults={"tenant_id": conn.tenant_id, "event": event, "uri": uri},
        )
        created.append(event)
    # A callback FreshBooks still lists as unverified (handshake lost): ask for the code again.
    for cb in remote:
        if (
            not cb.get("verified")
            and not FreshBooksCallback.objects.filter(
                connection=conn, callback_id=str(cb["callbackid"]), pending_verifier__isnull=False
            ).exists()
        ):
            client.resend_verification(account, cb["callbackid"])
    if created:
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            outcome=AuditRecord.Outcome.OK,
            message=f"registered FreshBooks webhooks: {', '.join(created)}",
        )
    return f"registered {len(created)}"


def store_pending_verifier(connection_id: int, tenant_id: int, callback_id: str, verifier: str) -> None:
    """Called on the ack path for name=callback.verify: one write, then the PUT happens in a worker."""
    row, _ = FreshBooksCallback.objects.get_or_create(
        connection_id=connection_id, callback_id=callback_id, defaults={"tenant_id": tenant_id}
    )
    FreshBooksCallback.objects.filter(pk=row.pk).update(pending_verifier=verifier)
    async_task("integrations.freshbooks.callbacks.confirm_callback", row.pk, task_name=f"fb-verify-{row.pk}")


def confirm_callback(callback_pk: int) -> str:
    from integrations.freshbooks.client import FreshBooksClient

    row = FreshBooksCallback.objects.select_related("connection", "tenant").filter(pk=callback_pk).first()
    if row is None or not row.pending_verifier:
        return "nothing pending"
    conn = row.connection
    account = conn.config.get("account_id")
    client = FreshBooksClient(conn, audit=AuditContext(tenant=row.tenant, connection=conn))
    try:
        result = client.verify_callback(account, row.callback_id, row.pending_verifier)
    except ProviderError as exc:
        record(
            AuditRecord.Kind.HANDSHAKE,
            connection=conn,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"FreshBooks did not accept the verifier for callback {row.callback_id}: {exc}",
        )
        return "rejected"
    if not result.get("verified", True):
        record(
            AuditRecord.Kind.HANDSHAKE,
            connection=conn,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"callback {row.callback_id} still unverified after the handshake",
        )
        return "unverified"
    FreshBooksCallback.objects.filter(pk=row.pk, pending_verifier__isnull=False).update(
        verifier=row.pending_verifier,
        pending_verifier=None,
        verified=True,
        verified_at=timezone.now(),
        event=result.get("event") or row.event,
    )
    endpoints.forget(PROVIDER, conn.endpoint_key)
    record(
        AuditRecord.Kind.HANDSHAKE,
        connection=conn,
        outcome=AuditRecord.Outcome.OK,
        message=f"webhook callback {row.callback_id} ({result.get('event') or row.event}) verified",
    )
    return "verified"
