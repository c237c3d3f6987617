"""Ready-made Monday faults (queued through integrations.sandbox.faults) and the sandbox's counters.

The fault bodies follow the unified error format with the codes of vendors note §1.5/§1.6. Where
monday's exact body is not published (UNCONFIRMED) the message and code are the documented ones and
the rest mirrors COMPLEXITY_BUDGET_EXHAUSTED's shape (retry_in_seconds, status_code).

Counters (SandboxCounter rows "monday:stat:<name>", shared by every process): calls (every request
to /v2, failed ones included, as monday counts them), mutations, complexity_points (charged),
complexity_429s (budget exhausted, whatever HTTP status carried it), faults (injected responses
served), http_429s (every 429 served), errors (responses carrying errors[]), unauthorized (401s).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import F
from django.urls import reverse

from integrations.monday.sandbox.errors import request_id
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxCounter

PROVIDER = "monday"
STAT_PREFIX = "monday:stat:"
STATS = ("calls", "mutations", "complexity_points", "complexity_429s", "faults", "http_429s", "errors", "unauthorized")


def bump(name: str, by: int = 1) -> None:
    key = STAT_PREFIX + name
    if not SandboxCounter.objects.filter(key=key).update(value=F("value") + by):
        _, created = SandboxCounter.objects.get_or_create(key=key, defaults={"value": by})
        if not created:
            SandboxCounter.objects.filter(key=key).update(value=F("value") + by)


def stats() -> dict[str, int]:
    rows = dict(SandboxCounter.objects.filter(key__startswith=STAT_PREFIX).values_list("key", "value"))
    return {name: int(rows.get(STAT_PREFIX + name, 0)) for name in STATS}


def reset_stats() -> None:
    SandboxCounter.objects.filter(key__startswith=STAT_PREFIX).delete()


def _match() -> str:
    return "POST " + reverse("sandbox-monday-api")


def _body(message: str, code: str, status: int, account_id=None, **extensions) -> dict:
    from integrations.monday.sandbox.boards import ACCOUNT_ID

    return {
        "errors": [
            {
                "message": message,
                "extensions": {
                    "code": code,
                    "error_data": {},
                    "status_code": status,
                    "request_id": request_id(),
                    **extensions,
                },
            }
        ],
        "account_id": int(account_id or ACCOUNT_ID),
    }


def inject_concurrency_limit(times: int = 1, retry_in_seconds: int = 10):
    """HTTP 429 maxConcurrencyExceeded (too many requests in flight)."""
    body = _body("Max concurrency exceeded", "maxConcurrencyExceeded", 429, retry_in_seconds=retry_in_seconds)
    return faults.add(
        PROVIDER, match=_match(), status=429, body=body, headers={"Retry-After": retry_in_seconds}, times=times
    )


def inject_rate_limit(times: int = 1, retry_in_seconds: int = 60):
    """HTTP 429 "Rate Limit Exceeded" (more than 5,000 requests a minute)."""
    body = _body("Rate Limit Exceeded", "RATE_LIMIT_EXCEEDED", 429, retry_in_seconds=retry_in_seconds)
    return faults.add(
        PROVIDER, match=_match(), status=429, body=body, headers={"Retry-After": retry_in_seconds}, times=times
    )


def seconds_to_midnight_utc(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


def inject_daily_limit(times: int = 1):
    """HTTP 429 DAILY_LIMIT_EXCEEDED; the daily call limit resets at midnight UTC."""
    retry = seconds_to_midnight_utc()
    body = _body("Daily limit exceeded", "DAILY_LIMIT_EXCEEDED", 429, retry_in_seconds=retry)
    return faults.add(PROVIDER, match=_match(), status=429, body=body, headers={"Retry-After": retry}, times=times)


def inject_locked(times: int = 1):
    """HTTP 423 "Resource is currently locked" (a board locked by a concurrent update). Code UNCONFIRMED."""
    body = _body("Resource is currently locked", "RESOURCE_LOCKED", 423)
    return faults.add(PROVIDER, match=_match(), status=423, body=body, times=times)


def inject_server_error(times: int = 1):
    """HTTP 500 Internal server error."""
    body = _body("Internal server error", "INTERNAL_SERVER_ERROR", 500)
    return faults.add(PROVIDER, match=_match(), status=500, body=body, times=times)


def inject_timeout(times: int = 1):
    """The request never answers in time (requests.ReadTimeout through the in-process transport)."""
    return faults.add(PROVIDER, faults.SandboxFault.Kind.TIMEOUT, match=_match(), times=times)


def inject_revoke():
    """Every token of the account stops working from the next call (an uninstalled app)."""
    return faults.add(PROVIDER, faults.SandboxFault.Kind.REVOKE, match=_match())


INJECTORS = {
    "429": inject_rate_limit,
    "concurrency": inject_concurrency_limit,
    "daily": inject_daily_limit,
    "423": inject_locked,
    "500": inject_server_error,
}
