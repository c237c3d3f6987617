"""The channel picker's list: read from conversations.list and kept on the connection's config.

Each refresh also sends the posts that waited for a channel which is usable now (waiting.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext


@dataclass
class Refreshed:
    channels: list[dict]
    resumed: int = 0  # waiting posts sent again because their channel is usable now


def refresh_channels(conn: Connection, *, actor=None) -> Refreshed:
    from integrations.slack.client import SlackClient
    from integrations.slack.waiting import resume_usable

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
    # A person's refresh is audited; the periodic check only records a list that changed.
    if actor is not None or channels != known_channels(conn):
        services.update_config(
            conn,
            {"channels": channels, "channels_at": timezone.now().isoformat()},
            actor=actor,
            message=f"{len(channels)} Slack channels listed",
        )
    return Refreshed(channels, resume_usable(conn, channels))


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
