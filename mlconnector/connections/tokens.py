"""Serialised token refresh.

FreshBooks and Slack refresh tokens are single-use: two workers refreshing at once would burn the
token and kill the connection. One refresh per connection at a time is enforced with a lease on
the connection row (a conditional UPDATE, committed at once) rather than SELECT ... FOR UPDATE,
because the refresh itself is a network call and none may happen inside a database transaction.
The new tokens are committed before anyone uses them; a worker that waited for the lease sees
that the credentials changed and uses them without refreshing again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from mlconnector.connections.models import Connection

LEASE_SECONDS = 60


class RefreshBusy(Exception):
    """Another worker has held the refresh lease for longer than we are willing to wait."""


def refresh_serialised(
    conn: Connection,
    seen_version: int,
    do_refresh: Callable[[Connection], tuple[dict, object]],
    *,
    wait_seconds: float = 30.0,
) -> Connection:
    """Refresh once across all workers.

    `seen_version` is the credentials_version the caller's failing token came from. If the stored
    version has moved on, somebody else refreshed already and the fresh row is returned untouched.
    `do_refresh(conn)` performs the network call and returns (new_credentials, expires_at).
    """
    from mlconnector.connections.services import store_credentials

    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while True:
        now = timezone.now()
        taken = (
            Connection.objects.filter(pk=conn.pk)
            .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now))
            .update(refresh_lease_owner=owner, refresh_lease_until=now + timedelta(seconds=LEASE_SECONDS))
        )
        if taken:
            break
        if time.monotonic() > deadline:
            raise RefreshBusy(f"token refresh for connection {conn.pk} is held by another worker")
        time.sleep(0.05)
    try:
        fresh = Connection.objects.get(pk=conn.pk)
        if fresh.credentials_version != seen_version:
            return fresh
        credentials, expires_at = do_refresh(fresh)
        return store_credentials(fresh, credentials, expires_at=expires_at, message="access token refreshed")
    finally:
        Connection.objects.filter(pk=conn.pk, refresh_lease_owner=owner).update(
            refresh_lease_owner="", refresh_lease_until=None
        )
