"""Webhook URL -> connection lookup for the ack path, cached briefly in each process.

A cache hit costs no query. Entries live a few seconds, and a signature that fails against a cached
entry is re-checked against a fresh one before the webhook is rejected, so a verifier stored a
moment ago by another process is never the reason a genuine webhook is refused.
"""

from __future__ import annotations

import threading
import time

from mlconnector.connections.models import Connection
from mlconnector.contract import Endpoint, UnknownProvider, registry

TTL_SECONDS = 10.0
_cache: dict[tuple[str, str], tuple[float, Endpoint | None]] = {}
_lock = threading.Lock()


def lookup(provider: str, endpoint_key: str, *, fresh: bool = False) -> Endpoint | None:
    cache_key = (provider, endpoint_key)
    now = time.monotonic()
    if not fresh:
        hit = _cache.get(cache_key)
        if hit is not None and hit[0] > now:
            return hit[1]
    endpoint = _load(provider, endpoint_key)
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[cache_key] = (now + TTL_SECONDS, endpoint)
    return endpoint


def forget(provider: str, endpoint_key: str) -> None:
    _cache.pop((provider, endpoint_key), None)


def clear() -> None:
    _cache.clear()


def _load(provider: str, endpoint_key: str) -> Endpoint | None:
    try:
        integration = registry.get(provider)
    except UnknownProvider:
        return None
    conn = (
        Connection.objects.filter(endpoint_key=endpoint_key, provider=provider)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    if conn is None:
        return None
    return Endpoint(
        connection_id=conn.pk,
        tenant_id=conn.tenant_id,
        provider=provider,
        status=conn.status,
        secrets=integration.endpoint_secrets(conn),
    )
