"""The GoCardless Pro API client: one environment per connection, GoCardless-Version on every call.

Wire facts (vendors doc §2, ../shared/specs/gocardless/): bodies sit under the plural resource name
both ways; lists page with cursors (`meta.cursors.after` until null); errors come as
{"error": {"type", "code", "message", "errors": [{"reason", ...}]}}; a repeated Idempotency-Key gets
409 `idempotent_creation_conflict` naming the resource already created
(`errors[0].links.conflicting_resource_id`), which create() fetches instead (trap 16).
RateLimit-Reset is an HTTP date (trap 20): when RateLimit-Remaining reaches 0 the connection's
budget, shared by every worker (mlconnector.ratelimit), is blocked until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings

from mlconnector.http import (
    Forbidden,
    NotFound,
    RateLimited,
    Rejected,
    TokenClient,
    Unauthorized,
    Unavailable,
    parse_retry_after,
)

ENVIRONMENTS = ("sandbox", "live")
# GoCardless prefixes its access tokens with their environment.
TOKEN_PREFIXES = {"sandbox": "sandbox_", "live": "live_"}


class IdempotentCreationConflict(Rejected):
    """The Idempotency-Key was used before: the resource it created is `conflicting_resource_id`."""

    def __init__(self, message: str, *, conflicting_resource_id: str, **kwargs):
        super().__init__(message, **kwargs)
        self.conflicting_resource_id = conflicting_resource_id


def environment_of(token: str) -> str | None:
    for env, prefix in TOKEN_PREFIXES.items():
        if token.startswith(prefix):
            return env
    return None


class GoCardlessClient(TokenClient):
    provider = "gocardless"
    token_label = "GoCardless"
    # A POST carries a deterministic Idempotency-Key (see request()), so trying it again is safe.
    idempotent_methods = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

    def __init__(self, connection=None, *, environment: str | None = None, **kwargs):
        super().__init__(connection, **kwargs)
        env = environment or ((connection.config or {}).get("environment") if connection is not None else None)
        self.environment = env if env in ENVIRONMENTS else "sandbox"

    @property
    def base_url(self) -> str:
        return settings.GOCARDLESS_API_URLS[self.environment]

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, idempotent=None, **kwargs):
        headers = {"GoCardless-Version": settings.GOCARDLESS_VERSION, **(headers or {})}
        if idempotent is None and "Idempotency-Key" in headers:
            idempotent = True
        return super().request(method, path, headers=headers, idempotent=idempotent, **kwargs)

    # --- errors and limits -----------------------------------------------------------------------
    def classify(self, response, data) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        details = [e for e in (error.get("errors") or []) if isinstance(e, dict)]
        reason = str((details[0].get("reason") if details else "") or error.get("type") or "")
        message = str(error.get("message") or response.reason or "GoCardless refused the request")
        if details and details[0].get("field"):  # validation_failed: say which field
            message += ": " + "; ".join(f"{e.get('field')} {e.get('message')}" for e in details if e.get("field"))
        if status == 409 and reason == "idempotent_creation_conflict":
            conflicting = str((details[0].get("links") or {}).get("conflicting_resource_id") or "")
            raise IdempotentCreationConflict(message, status=status, code=reason, conflicting_resource_id=conflicting)
        if status == 401:
            raise Unauthorized(message, status=status, code=reason)
        if status == 403:
            raise Forbidden(message, status=status, code=reason)
        if status == 404:
            raise NotFound(message, status=status, code=reason)
        if status == 429:
            wait = parse_retry_after(response.headers.get("RateLimit-Reset")) or parse_retry_after(
                response.headers.get("Retry-After")
            )
            raise RateLimited(message, status=status, code=reason, retry_after=wait if wait is not None else 60.0)
        if status >= 500 or status in (408, 423):
            raise Unavailable(message, status=status, code=reason)
        raise Rejected(message, status=status, code=reason)

    def observe(self, response, data) -> None:
        remaining = response.headers.get("RateLimit-Remaining")
        if remaining is None or response.status_code == 429:
            return
        try:
            left = int(remaining)
        except ValueError:
            return
        if left <= 0:
            wait = parse_retry_after(response.headers.get("RateLimit-Reset"))
            key = self.rate_limit_key("GET", "")
            if wait and key:
                from mlconnector.ratelimit import limiter

                limiter().block(key, wait)

    def remote_id(self, response, data) -> str:
        if isinstance(data, dict) and len(data) == 1:
            inner = next(iter(data.values()))
            if isinstance(inner, dict):
                return str(inner.get("id") or "")
        return ""

    # --- resources -------------------------------------------------------------------------------
    def fetch(self, resource: str, object_id: str) -> dict:
        data = self.get(f"/{resource}/{object_id}")
        found = data.get(resource) if isinstance(data, dict) else None
        if not isinstance(found, dict):
            raise NotFound(f"GoCardless returned no {resource} {object_id}")
        return found

    def list_page(self, resource: str, params: dict[str, Any] | None = None) -> tuple[list[dict], str | None]:
        data = self.get(f"/{resource}", params=params or None)
        items = data.get(resource) if isinstance(data, dict) else None
        cursors = ((data or {}).get("meta") or {}).get("cursors") or {}
        return [i for i in (items or []) if isinstance(i, dict)], cursors.get("after")

    def iterate(self, resource: str, params: dict[str, Any] | None = None, *, limit: int = 500) -> Iterator[dict]:
        """Every item of a list, following `after` cursors until GoCardless says there are no more."""
        query = {**(params or {}), "limit": limit}
        while True:
            items, after = self.list_page(resource, query)
            yield from items
            if not after or not items:
                return
            query["after"] = after

    def create(self, resource: str, body: dict, *, idempotency_key: str) -> tuple[dict, bool]:
        """Create once per key: (resource, created). A key used before answers 409, and the
        resource it created then is fetched and returned instead (created=False)."""
        try:
            _, data = self.request(
                "POST", f"/{resource}", json={resource: body}, headers={"Idempotency-Key": idempotency_key}
            )
        except IdempotentCreationConflict as exc:
            if not exc.conflicting_resource_id:
                raise
            return self.fetch(resource, exc.conflicting_resource_id), False
        made = data.get(resource) if isinstance(data, dict) else None
        if not isinstance(made, dict):
            raise Unavailable(f"GoCardless did not return the created {resource}", maybe_sent=True)
        return made, True

    def action(self, resource: str, object_id: str, verb: str, body: dict | None = None) -> dict:
        _, data = self.request(
            "POST", f"/{resource}/{object_id}/actions/{verb}", json={"data": body or {}}, idempotent=True
        )
        found = data.get(resource) if isinstance(data, dict) else None
        return found if isinstance(found, dict) else {}

    def creditor(self) -> dict:
        items, _ = self.list_page("creditors", {"limit": 1})
        if not items:
            raise Rejected("this GoCardless account has no creditor yet")
        return items[0]
