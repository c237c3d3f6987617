"""The HubSpot sandbox's rate limits, with HubSpot's headers and 429 bodies (vendors doc §2.7).

- Burst: N requests per rolling 10 s per private app token (Professional: 190), or per public app and
  installed account for OAuth tokens (110), counted in one-second buckets shared by every web process;
  over it, 429 with policyName TEN_SECONDLY_ROLLING.
- Daily: per portal, reset at midnight in the portal's time zone; over it, 429 with policyName DAILY.
  OAuth calls are not counted against it.
- Every non-search answer carries X-HubSpot-RateLimit-{Max,Remaining,Interval-Milliseconds} and the
  deprecated -Secondly pair; -Daily and -Daily-Remaining for private apps only (absent for OAuth).
- Search has its own limit (4 requests/s per token) and no rate-limit headers at all.
Counts of what happened (calls, writes per object type, 429s) are kept for the console and the
benchmark (stats()).
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection as db

from integrations.hubspot.sandbox.state import HubSpotError, setting
from integrations.sandbox.models import SandboxCounter

TABLE = "sandbox_sandboxcounter"
STATS = "hubspot:stat:"


def _bump(cur, key: str, by: float = 1) -> float:
    cur.execute(f"INSERT INTO {TABLE} (key, value, window_start) VALUES (%s, 0, 0) ON CONFLICT (key) DO NOTHING", [key])  # noqa: S608
    cur.execute(f"UPDATE {TABLE} SET value = value + %s WHERE key = %s RETURNING value", [by, key])  # noqa: S608
    return cur.fetchone()[0]


def count(name: str, by: int = 1) -> None:
    with db.cursor() as cur:
        _bump(cur, STATS + name, by)


def stats() -> dict[str, int]:
    return {r.key.removeprefix(STATS): int(r.value) for r in SandboxCounter.objects.filter(key__startswith=STATS)}


def reset() -> None:
    SandboxCounter.objects.filter(key__startswith="hubspot:").exclude(key="hubspot:ids").delete()


def _daily_key(account) -> str:
    zone = ZoneInfo(setting(account, "time_zone"))
    return f"hubspot:daily:{account.key}:{datetime.now(zone).date().isoformat()}"


def _seconds_to_midnight(account) -> float:
    zone = ZoneInfo(setting(account, "time_zone"))
    now = datetime.now(zone)
    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=zone).timestamp() + 86400
    return max(1.0, midnight - now.timestamp())


def _rate_error(message: str, policy: str, retry_after: float | None, headers: dict) -> HubSpotError:
    if retry_after is not None:
        headers = {**headers, "Retry-After": str(max(1, math.ceil(retry_after)))}
    return HubSpotError(
        429,
        message,
        "RATE_LIMITS",
        headers=headers,
        extra={"errorType": "RATE_LIMIT", "policyName": policy, "requestId": f"sandbox-{time.time_ns()}"},
    )


def charge(account, token) -> dict[str, str]:
    """Count one (non-search) call against the token's burst window and the portal's day; return the
    headers to send, or raise the 429 HubSpot would."""
    # A public app's window is per app and installed account (its tokens change every 30 minutes), with
    # no daily limit and no daily headers; a private app's is per token, with the portal's day.
    oauth = token.app_id is not None
    limit = int(setting(account, "oauth_burst_limit" if oauth else "burst_limit"))
    interval_ms = int(setting(account, "interval_ms"))
    daily = int(setting(account, "daily_limit"))
    seconds = interval_ms / 1000
    now = time.time()
    second = int(now)
    window = f"app{token.app_id}-{account.key}" if oauth else str(token.pk)
    buckets = [f"hubspot:burst:{window}:{s}" for s in range(second - math.ceil(seconds) + 1, second + 1)]
    with db.cursor() as cur:
        _bump(cur, buckets[-1])
        placeholders = ",".join(["%s"] * len(buckets))
        cur.execute(f"SELECT COALESCE(SUM(value), 0) FROM {TABLE} WHERE key IN ({placeholders})", buckets)  # noqa: S608
        used = int(cur.fetchone()[0])
        day_used = 0 if oauth else int(_bump(cur, _daily_key(account)))
        if second % 30 == 0:  # drop old buckets now and then
            cur.execute(
                f"DELETE FROM {TABLE} WHERE key LIKE %s AND key < %s",  # noqa: S608
                [f"hubspot:burst:{window}:%", buckets[0]],
            )  # noqa: S608
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - used)),
            "X-HubSpot-RateLimit-Secondly": str(max(1, limit // max(1, int(seconds)))),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, limit // max(1, int(seconds)) - 1)),
        }
        if not oauth:
            headers["X-HubSpot-RateLimit-Daily"] = str(daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, daily - day_used))
        if not oauth and day_used > daily:
            _bump(cur, _daily_key(account), -1)
            count("429_daily")
            raise _rate_error("You have reached your daily limit.", "DAILY", None, headers)
        if used > limit:
            _bump(cur, buckets[-1], -1)  # a refused call is not counted
            if not oauth:
                _bump(cur, _daily_key(account), -1)
            count("429_burst")
            # Retry-After: until the oldest bucket of the window leaves it (commonly sent, UNCONFIRMED).
            raise _rate_error(
                "You have reached your ten_secondly_rolling limit.",
                "TEN_SECONDLY_ROLLING",
                1.0,
                headers | {"X-HubSpot-RateLimit-Remaining": "0"},
            )
    return headers


def charge_search(account, token) -> None:
    """Search: its own per-second limit, no headers (vendors doc §2.4)."""
    per_second = int(setting(account, "search_per_second"))
    key = f"hubspot:search:{token.pk}:{int(time.time())}"
    with db.cursor() as cur:
        used = _bump(cur, key)
        if used > per_second:
            _bump(cur, key, -1)
            count("429_search")
            raise _rate_error("You have reached your secondly limit.", "SECONDLY", 1.0, {})


def seconds_to_midnight(account) -> float:
    return _seconds_to_midnight(account)
