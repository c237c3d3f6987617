"""Scheduled connection upkeep: refresh tokens before they expire, so deliveries never wait on it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, ProviderError


def refresh_expiring(window_minutes: int = 30) -> str:
    soon = timezone.now() + timedelta(minutes=window_minutes)
    refreshed = failed = 0
    for conn in Connection.objects.filter(status=Connection.Status.ACTIVE, token_expires_at__lte=soon):
        client = conn.integration.client(AuditContext(tenant=conn.tenant, connection=conn))
        if not client.can_refresh():
            continue
        try:
            client.refresh_now()
        except ProviderError:
            failed += 1
        else:
            refreshed += 1
    return f"refreshed {refreshed}, failed {failed}"
