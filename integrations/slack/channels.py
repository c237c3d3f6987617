"""The channel picker's list: read from conversations.list and kept on the connection's config."""

from __future__ import annotations

from django.utils import timezone

from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext


def refresh_channels(conn: Connection, *, actor=None) -> list[dict]:
    from integrations.slack.client import SlackClient

    client = SlackClient(conn, audit=AuditContext(tenant=conn.tenant, connection=conn, actor=actor))
    channels = [
        {
            "id": str(c["id"]),
            "name": str(c.get("name") or c["id"]),
            "is_private": bool(c.get("is_private")),
            "is_member": bool(c.get("is_member")),
        }
        for c in client.channels()
        if c.get("id") and not c.get("is_archived")
    ]
    channels.sort(key=lambda c: c["name"])
    services.update_config(
        conn,
        {"channels": channels, "channels_at": timezone.now().isoformat()},
        actor=actor,
        message=f"{len(channels)} Slack channels listed",
    )
    return channels


def known_channels(conn: Connection | None) -> list[dict]:
    return list((conn.config or {}).get("channels") or []) if conn is not None else []


def slack_connection_for(tenant) -> Connection | None:
    """The tenant's Slack workspace (the most recently connected usable one)."""
    return (
        Connection.objects.for_tenant(tenant)
        .filter(provider="slack")
        .exclude(status__in=[Connection.Status.DISCONNECTED, Connection.Status.PENDING])
        .order_by("-created_at")
        .first()
    )
