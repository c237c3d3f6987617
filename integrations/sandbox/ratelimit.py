"""Rate-limit emulation for the fakes, shared by every web process (state in SandboxCounter).

`window(key, limit, seconds)`: a fixed window counter (HubSpot-style "N per 10 s").
`interval(key, seconds)`: at most one call per interval (Slack's ~1 message/second per channel).
Both are one conditional UPDATE, so concurrent requests cannot both slip through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection

TABLE = "sandbox_sandboxcounter"


@dataclass
class Decision:
    allowed: bool
    remaining: int = 0
    retry_after: float = 0.0
    reset_at: float = 0.0


def _ensure(key: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {TABLE} (key, value, window_start) VALUES (%s, 0, 0) ON CONFLICT (key) DO NOTHING",  # noqa: S608
            [key],
        )


def interval(key: str, seconds: float, now: float | None = None) -> Decision:
    """`now`: when the request arrived, if the caller knows (defaults to the current time)."""
    _ensure(key)
    now = time.time() if now is None else now
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {TABLE} SET window_start = %s WHERE key = %s AND window_start <= %s RETURNING window_start",  # noqa: S608
            [now, key, now - seconds],
        )
        if cur.fetchone():
            return Decision(True, reset_at=now + seconds)
        cur.execute(f"SELECT window_start FROM {TABLE} WHERE key = %s", [key])  # noqa: S608
        last = cur.fetchone()[0]
    wait = max(0.0, last + seconds - now)
    return Decision(False, retry_after=wait, reset_at=last + seconds)


def window(key: str, limit: int, seconds: float) -> Decision:
    _ensure(key)
    now = time.time()
    with connection.cursor() as cur:
        # A new window starts when the old one has passed; otherwise count up to the limit.
        cur.execute(
            f"UPDATE {TABLE} SET value = 1, window_start = %s WHERE key = %s AND window_start <= %s "  # noqa: S608
            "RETURNING value, window_start",
            [now, key, now - seconds],
        )
        row = cur.fetchone()
        if row is None:
            cur.execute(
                f"UPDATE {TABLE} SET value = value + 1 WHERE key = %s AND value < %s RETURNING value, window_start",  # noqa: S608
                [key, limit],
            )
            row = cur.fetchone()
        if row is None:
            cur.execute(f"SELECT value, window_start FROM {TABLE} WHERE key = %s", [key])  # noqa: S608
            value, start = cur.fetchone()
            return Decision(False, remaining=0, retry_after=max(0.0, start + seconds - now), reset_at=start + seconds)
    value, start = row
    return Decision(True, remaining=int(limit - value), reset_at=start + seconds)


def reset(prefix: str = "") -> None:
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE key LIKE %s", [prefix + "%"])  # noqa: S608
