"""HubSpot's CRM REST API through the shared ApiClient: private app tokens or a public app's OAuth tokens
(30 minutes, refreshed through the core's serialised refresh: oauth.py), HubSpot's error bodies, and a
per-hub request budget shared by every worker process.

Wire facts and their sources: ../shared/vendors/monday-hubspot-slack.md §2.
- `Authorization: Bearer pat-…`, not the `private-app` header the OpenAPI files show (trap 12).
- Errors are `{status, message, correlationId, category, errors[], context}`, every field optional
  (trap 21); a 409 CONFLICT names the record that holds a unique value only inside its message
  ("Contact already exists. Existing ID: 123", trap 14): `existing_id()` reads it.
- Limits (trap 17, 18): X-HubSpot-RateLimit-Max / -Interval-Milliseconds teach the hub's burst budget,
  and every call takes the next slot of it (pace(): limiter().reserve across workers), so the
  budget is spent evenly instead of in 429s. A 429 TEN_SECONDLY_ROLLING waits for the window
  (Retry-After, else the interval); DAILY (or Daily-Remaining 0) waits until midnight in the hub's
  time zone; 423 Locked and 477 Migration in Progress wait as told. Search has its own limit
  (4/s, no headers) and its own pace. OAuth calls get no daily headers (and have no daily limit):
  their budget is learned from the same Max / Interval headers, HUBSPOT_OAUTH_DEFAULT_BURST until then.
- 401: EXPIRED_AUTHENTICATION (an OAuth token past its 30 minutes) or INVALID_AUTHENTICATION; the core
  refreshes once when a refresh token is stored, else the connection needs reconnecting.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.cache import cache

from mlconnector.http import (
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    TokenClient,
    Unauthorized,
    Unavailable,
    parse_retry_after,
)

MAX_BATCH = 100
_EXISTING = re.compile(r"Existing ID:\s*(\d+)")


def existing_id(message: str, context: dict | None = None) -> str:
    """The record a 409 CONFLICT names ("… Existing ID: 123"); "" when it names none."""
    found = _EXISTING.search(message or "")
    if found:
        return found.group(1)
    ids = (context or {}).get("existingId") or []
    return str(ids[0]) if ids else ""


def seconds_to_midnight(time_zone: str) -> float:
    """The daily limit resets at midnight in the hub's time zone, not UTC (trap 17)."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return max(1.0, (midnight - now).total_seconds())


class HubSpotClient(TokenClient):
    provider = "hubspot"
    token_label = "HubSpot"
    # Upserts, updates and associations are idempotent by nature and are marked so per call.
    idempotent_methods = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})

    def __init__(
        self,
        connection=None,
        *,
        token: str | None = None,
        hub_id: str = "",
        time_zone: str = "",
        oauth: bool | None = None,
        **kwargs,
    ):
        super().__init__(connection, access_token=token, **kwargs)
        self.hub_id = hub_id or (getattr(connection, "external_account_id", "") or "")
        config = getattr(connection, "config", None) or {}
        self.time_zone = time_zone or config.get("time_zone") or "UTC"
        if oauth is None:
            oauth = connection is not None and (connection.secrets() or {}).get("kind") == "oauth"
        # A public app's tokens (30 minutes, refreshed) and its own budget: 110 per 10 s per hub, no daily limit.
        self.oauth = oauth

    def refresh_tokens(self, conn, audit):
        """The network half of the core's serialised refresh (connections/tokens.py), OAuth connections only:
        can_refresh() is true only when a refresh token is stored."""
        from integrations.hubspot.oauth import refresh_tokens

        return refresh_tokens(conn, audit)

    @property
    def base_url(self) -> str:
        return settings.HUBSPOT_API_URL

    # --- the shared budget ----------------------------------------------------------------------
    def _hub(self) -> str:
        hub = self.hub_id or f"conn{getattr(self.connection, 'pk', None) or 'new'}"
        # HubSpot's budget is per app and hub: a public app's calls never share a private app's window.
        return f"{hub}:oauth" if self.oauth else hub

    @staticmethod
    def _is_search(path: str) -> bool:
        return path.rstrip("/").endswith("/search")

    def rate_limit_key(self, method: str, path: str) -> str | None:
        # One budget per hub, whichever tenant or connection spends it (trap 29); search apart.
        return f"hubspot-search:{self._hub()}" if self._is_search(path) else f"hubspot:{self._hub()}"

    def budget(self) -> tuple[int, float]:
        """(requests, per seconds) as the hub's headers last said, else the configured default."""
        learned = cache.get(f"hubspot:budget:{self._hub()}")
        if learned:
            return int(learned[0]), float(learned[1])
        return (settings.HUBSPOT_OAUTH_DEFAULT_BURST if self.oauth else settings.HUBSPOT_DEFAULT_BURST), 10.0

    def pace(self, method: str, path: str) -> float:
        from mlconnector.ratelimit import limiter

        if self._is_search(path):
            interval = 1.0 / settings.HUBSPOT_SEARCH_PER_SECOND
        else:
            most, seconds = self.budget()
            interval = seconds / max(1, most) * (1 + settings.HUBSPOT_PACING_MARGIN)
        wait = limiter().reserve(f"{self.rate_limit_key(method, path)}:pace", interval, self.max_pace_wait())
        return self.max_pace_wait() + interval if wait is None else wait

    def max_pace_wait(self) -> float:
        # A batch makes several calls (contacts, companies, associations): waiting for the next slot
        # beats abandoning the calls already made and spending them again on the retry.
        return settings.HUBSPOT_MAX_PACING_WAIT

    def observe(self, response: requests.Response, data: Any) -> None:
        headers = response.headers
        most, interval = (
            headers.get("X-HubSpot-RateLimit-Max"),
            headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"),
        )
        if most and interval:
            try:
                learned = (int(most), int(interval) / 1000)
            except ValueError:
                learned = None
            if learned and cache.get(f"hubspot:budget:{self._hub()}") != learned:
                cache.set(f"hubspot:budget:{self._hub()}", learned, 24 * 3600)
        if headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
            from mlconnector.ratelimit import limiter

            limiter().block(f"hubspot:{self._hub()}", seconds_to_midnight(self.time_zone))

    # --- errors ---------------------------------------------------------------------------------
    def classify(self, response: requests.Response, data: Any) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        body = data if isinstance(data, dict) else {}
        message = str(body.get("message") or f"{response.request.method} {response.reason or 'failed'}")
        category = str(body.get("category") or body.get("errorType") or "")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy == "DAILY":
                retry_after = seconds_to_midnight(self.time_zone)
            elif retry_after is None:
                interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
                retry_after = 1.0 if policy == "SECONDLY" or not interval else min(float(interval) / 1000, 10.0)
            error: ProviderError = RateLimited(
                message, status=status, code=policy or "RATE_LIMIT", retry_after=retry_after
            )
        elif status == 423:  # bulk upserts too fast: the lock lasts about 2 s
            error = RateLimited(message, status=status, code="LOCKED", retry_after=max(2.0, retry_after or 2.0))
        elif status == 477:  # the portal is being migrated: Retry-After says for how long
            error = RateLimited(message, status=status, code="MIGRATION_IN_PROGRESS", retry_after=retry_after or 60.0)
        elif status == 401:
            error = Unauthorized(message, status=status, code=category)
        elif status == 403:
            error = Forbidden(message, status=status, code=category)
        elif status == 404:
            error = NotFound(message, status=status, code=category)
        elif status in (408, 425) or status >= 500:
            error = Unavailable(message, status=status, code=category, retry_after=retry_after)
        else:
            error = Rejected(message, status=status, code=category)
        error.body = body  # category, subCategory, context, errors: what callers look into
        raise error

    # --- calls ------------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotent: bool | None = None,
        what: str = "",
    ) -> Any:
        """One request; a call refused for a limit was not executed, so it goes again (even a create)
        once the wait is short enough to sit out here."""
        for attempt in range(1, 4):
            try:
                _, data = self.request(
                    method, path, json=json, params=params, idempotent=idempotent, audit_message=what
                )
                return data
            except RateLimited as exc:
                short = exc.retry_after is not None and exc.retry_after <= settings.MLCONNECTOR_MAX_INLINE_WAIT
                if not short or attempt == 3:
                    raise
        return None

    def account_details(self) -> dict:
        data = self.call("GET", "/account-info/v3/details", what="account details")
        if not isinstance(data, dict) or not data.get("portalId"):
            raise Rejected("HubSpot did not say which hub this token belongs to")
        return data

    def batch(self, object_type: str, op: str, inputs: list[dict], *, what: str = "") -> tuple[list[dict], list[dict]]:
        """A batch call in chunks of MAX_BATCH: (results, errors) over every chunk. Errors are the
        207 multi-status items (StandardError); a failure of a whole call raises."""
        results: list[dict] = []
        errors: list[dict] = []
        for start in range(0, len(inputs), MAX_BATCH):
            chunk = inputs[start : start + MAX_BATCH]
            data = self.call(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/{op}",
                json={"inputs": chunk},
                idempotent=op != "create",
                what=what or f"{op} {len(chunk)} {object_type}",
            )
            if isinstance(data, dict):
                results += [r for r in data.get("results") or [] if isinstance(r, dict)]
                errors += [e for e in data.get("errors") or [] if isinstance(e, dict)]
        return results, errors

    def associate(self, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> list[dict]:
        """Default (unlabelled) associations, both directions, in batches; returns the failed items."""
        errors: list[dict] = []
        pairs = list(dict.fromkeys((str(a), str(b)) for a, b in pairs if a and b))
        for start in range(0, len(pairs), MAX_BATCH):
            chunk = pairs[start : start + MAX_BATCH]
            data = self.call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/associate/default",
                json={"inputs": [{"from": {"id": a}, "to": {"id": b}} for a, b in chunk]},
                idempotent=True,
                what=f"associate {len(chunk)} {from_type} with {to_type}",
            )
            if isinstance(data, dict):
                errors += [e for e in data.get("errors") or [] if isinstance(e, dict)]
        return errors

    def search(self, object_type: str, body: dict) -> dict:
        """Search (its own ~4 requests/s limit, no rate headers, capped at 10,000 results: never for listing)."""
        return (
            self.call(
                "POST",
                f"/crm/v3/objects/{object_type}/search",
                json=body,
                idempotent=True,
                what=f"search {object_type}",
            )
            or {}
        )

    def remote_id(self, response: requests.Response, data: Any) -> str:
        if isinstance(data, dict) and data.get("id"):
            return str(data["id"])
        return ""
