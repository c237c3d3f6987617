"""Every change to a connection goes through here, so each one is audited exactly once."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.connections.signals import connection_activated

Status = Connection.Status


def create_connection(
    *,
    tenant,
    provider: str,
    actor=None,
    name: str = "",
    credentials=None,
    config=None,
    external_account_id: str = "",
    status: str = Status.PENDING,
    token_expires_at=None,
) -> Connection:
    conn = Connection.objects.create(
        tenant=tenant,
        provider=provider,
        name=name,
        credentials=credentials or {},
        config=config or {},
        external_account_id=external_account_id,
        status=status,
        token_expires_at=token_expires_at,
        status_changed_at=timezone.now(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record(AuditRecord.Kind.CONNECTION, connection=conn, actor=actor, message=f"connection created ({status})")
    return conn


def set_status(conn: Connection, status: str, *, reason: str = "", actor=None) -> Connection:
    """Change status; leaving needs_reconnect/paused for active resumes the work that waited."""
    previous = conn.status
    if previous == status and not reason:
        return conn
    now = timezone.now()
    fields = {"status": status, "status_changed_at": now, "updated_at": now}
    if status in (Status.NEEDS_RECONNECT,) and reason:
        fields.update(last_error=reason[:2000], last_error_at=now)
    Connection.objects.filter(pk=conn.pk).update(**fields)
    for key, value in fields.items():
        setattr(conn, key, value)
    if previous != status:
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            actor=actor,
            outcome=AuditRecord.Outcome.ERROR if status == Status.NEEDS_RECONNECT else AuditRecord.Outcome.INFO,
            message=f"status {previous} → {status}" + (f": {reason}" if reason else ""),
        )
    if status == Status.DISCONNECTED and previous != Status.DISCONNECTED:
        _close_out(conn)
    if status == Status.ACTIVE and previous != Status.ACTIVE:
        from mlconnector.pipeline.resume import resume_connection

        resume_connection(conn)
        connection_activated.send(sender=Connection, connection=conn)
    return conn


# What a person may do to a connection (the page's buttons, the API's actions): the status it leads
# to, and the statuses it may start from.
ACTIONS = {
    "pause": (Status.PAUSED, {Status.ACTIVE}),
    "resume": (Status.ACTIVE, {Status.PAUSED}),
    "disconnect": (Status.DISCONNECTED, set(Status) - {Status.DISCONNECTED}),
}


class ActionRefused(ValueError):
    """The action does not apply to the connection as it is (says why, in words)."""


def apply_action(conn: Connection, action: str, *, actor=None, by: str = "") -> Connection:
    """Pause, resume or disconnect, as asked by a person (audited with their name, or `by`)."""
    if action not in ACTIONS:
        raise ActionRefused("Unknown action.")
    status, allowed_from = ACTIONS[action]
    if conn.status not in allowed_from:
        raise ActionRefused(f"Cannot {action} a connection that is {conn.get_status_display().lower()}.")
    who = by or (actor.get_username() if getattr(actor, "is_authenticated", False) else "system")
    return set_status(conn, status, actor=actor, reason=f"{action} by {who}")


def run_check(conn: Connection, *, actor=None) -> tuple[bool, str]:
    """ "Test connection": one cheap authenticated call; notes the success or the error on the row."""
    from mlconnector.http import AuditContext, ProviderError

    try:
        result = conn.integration.check(AuditContext(tenant=conn.tenant, connection=conn, actor=actor))
    except ProviderError as exc:
        note_error(conn, str(exc))
        return False, str(exc)
    note_success(conn)
    return True, result


def mark_needs_reconnect(conn: Connection, reason: str) -> None:
    if conn.status != Status.NEEDS_RECONNECT:
        set_status(conn, Status.NEEDS_RECONNECT, reason=reason)


def store_credentials(
    conn: Connection, credentials: dict, *, expires_at=None, actor=None, message: str = "credentials updated"
) -> Connection:
    """Replace the credentials, committed at once (a single-use refresh token must never be lost)."""
    Connection.objects.filter(pk=conn.pk).update(
        credentials=credentials,
        credentials_version=F("credentials_version") + 1,
        token_expires_at=expires_at,
        updated_at=timezone.now(),
    )
    conn.credentials = credentials
    conn.credentials_version = Connection.objects.values_list("credentials_version", flat=True).get(pk=conn.pk)
    conn.token_expires_at = expires_at
    record(AuditRecord.Kind.CONNECTION, connection=conn, actor=actor, message=message)
    return conn


def note_success(conn: Connection) -> None:
    now = timezone.now()
    Connection.objects.filter(pk=conn.pk).update(last_success_at=now)
    conn.last_success_at = now


def note_error(conn: Connection, message: str) -> None:
    now = timezone.now()
    Connection.objects.filter(pk=conn.pk).update(last_error=message[:2000], last_error_at=now)
    conn.last_error, conn.last_error_at = message[:2000], now


def update_config(conn: Connection, changes: dict, *, actor=None, message: str = "") -> Connection:
    config = dict(conn.config or {})
    config.update(changes)
    Connection.objects.filter(pk=conn.pk).update(config=config, updated_at=timezone.now())
    conn.config = config
    record(
        AuditRecord.Kind.CONNECTION,
        connection=conn,
        actor=actor,
        message=message or f"config changed: {', '.join(sorted(changes))}",
    )
    return conn


def _close_out(conn: Connection) -> None:
    """A disconnected connection takes no more work: unfinished deliveries to it fail, visibly."""
    from mlconnector.pipeline.models import Delivery
    from mlconnector.webhooks import endpoints

    Delivery.objects.filter(
        connection=conn,
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.WAITING],
    ).update(status=Delivery.Status.FAILED, last_error="the connection was disconnected", updated_at=timezone.now())
    endpoints.forget(conn.provider, conn.endpoint_key)
