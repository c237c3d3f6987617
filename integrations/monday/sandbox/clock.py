"""The Monday sandbox's clock, one place tests can move forward (complexity windows, cursor expiry)."""

from __future__ import annotations

import time


def now() -> float:
    return time.time()
