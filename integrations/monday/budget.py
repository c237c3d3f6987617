"""The per-minute complexity budget of one Monday account, shared by every worker.

Monday charges each query complexity points against a per-minute budget per account (vendors doc
§1.5, https://developer.monday.com/api-reference/docs/rate-limits). Every document we send asks
for `complexity { before after query reset_in_x_seconds }`; after each response the remaining
points and the reset time are stored in the Django cache (Redis when configured, the database
otherwise), and so is the last cost of each operation. Before each call:

- if the window is known, has not reset, and the remaining points do not cover the operation's
  expected cost, nobody calls until the reset: the account's rate-limit key is blocked
  (mlconnector.ratelimit, shared across workers) and ApiClient sleeps inline for a short wait or
  raises RateLimited(retry_after) so the pipeline defers the delivery to exactly that time;
- otherwise the expected cost is taken from the stored remainder at once, so concurrent workers
  do not all spend the same points (the response's `after` then corrects it).

The reset time comes as whole seconds; the earliest `received + reset_in_x_seconds` seen in a
window is kept, which converges on the true reset instead of adding up to a second of idling.
Monday itself stays the judge: COMPLEXITY_BUDGET_EXHAUSTED is classified as RateLimited with the
time it names, and the same block applies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

STATE_TTL = 180  # seconds: longer than a window, so a stale state simply expires
COST_TTL = 24 * 60 * 60


def _state_key(account: str) -> str:
    return f"monday:budget:{account}"


def _cost_key(operation: str) -> str:
    return f"monday:cost:{operation}"


@dataclass
class State:
    left: int
    reset_at: float  # epoch seconds


def state(account: str) -> State | None:
    raw = cache.get(_state_key(account))
    if not raw:
        return None
    return State(int(raw["left"]), float(raw["reset_at"]))


def expected_cost(operation: str) -> int:
    return int(cache.get(_cost_key(operation)) or 0)


def wait_needed(account: str, operation: str, now: float | None = None) -> float:
    """Seconds to wait before `operation` fits the budget (0: go ahead, and its cost is reserved)."""
    now = time.time() if now is None else now
    current = state(account)
    if current is None or current.reset_at <= now:
        return 0.0
    cost = expected_cost(operation)
    if current.left < cost:
        return current.reset_at - now
    if cost:
        cache.set(_state_key(account), {"left": current.left - cost, "reset_at": current.reset_at}, STATE_TTL)
    return 0.0


def observe(account: str, operation: str, complexity: dict, received: float | None = None) -> None:
    """Record what Monday reported after a call."""
    received = time.time() if received is None else received
    try:
        after = int(complexity["after"])
        query = int(complexity["query"])
        reset_at = received + float(complexity["reset_in_x_seconds"])
    except (KeyError, TypeError, ValueError):
        return
    if operation and query > 0:
        cache.set(_cost_key(operation), query, COST_TTL)
    current = state(account)
    if current is not None and current.reset_at > received and abs(current.reset_at - reset_at) < 1.5:
        # Same window: keep the lowest remainder and the earliest reset seen (responses can
        # arrive out of order across workers; the whole-second reset only ever overshoots).
        after = min(after, current.left)
        reset_at = min(reset_at, current.reset_at)
    cache.set(_state_key(account), {"left": after, "reset_at": reset_at}, STATE_TTL)


def exhausted(account: str, retry_after: float, received: float | None = None) -> None:
    """Monday refused for lack of budget: nothing is left until it said."""
    received = time.time() if received is None else received
    cache.set(_state_key(account), {"left": 0, "reset_at": received + retry_after}, STATE_TTL)


def forget(account: str) -> None:
    """Drop what is known of the account's window (its budget changed, e.g. a plan change)."""
    cache.delete(_state_key(account))
