"""When to try again: exponential backoff with full jitter, never sooner than the provider asked."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt `attempt + 1` (AWS 'full jitter'; Retry-After is a floor)."""
    ceiling = min(settings.MLCONNECTOR_RETRY_CAP_SECONDS, settings.MLCONNECTOR_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    delay = random.uniform(1.0, max(1.0, ceiling))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def gives_up(first_attempt_at: datetime | None, attempts: int, now: datetime) -> bool:
    """Past the horizon (at least 24 h of trying) or out of attempts: stop and wait for a replay."""
    if attempts >= settings.MLCONNECTOR_MAX_ATTEMPTS:
        return True
    if first_attempt_at is None:
        return False
    return now - first_attempt_at >= timedelta(seconds=settings.MLCONNECTOR_RETRY_HORIZON_SECONDS)
