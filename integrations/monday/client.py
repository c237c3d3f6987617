"""Monday.com's GraphQL API through the shared ApiClient: raw-token auth, a pinned API-Version,
errors that arrive in an HTTP 200, and the account's complexity budget.

- One endpoint, POST {"query", "variables"} (https://developer.monday.com/api-reference/docs/getting-started).
- `Authorization: <token>`, no "Bearer" (vendors doc trap 1); `API-Version` from settings (trap 5).
- HTTP 200 is not success: `errors[]` (unified format) or the legacy `error_code`/`error_message`
  is classified into the typed hierarchy (trap 2, https://developer.monday.com/api-reference/docs/error-handling).
- Budget, concurrency, minute and daily limits and 423 locks come back at the time they name
  (trap 8); the remaining complexity is tracked per account across workers (budget.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings

from integrations.monday import budget, queries
from mlconnector.http import (
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    TokenClient,
    Unauthorized,
    Unavailable,
    default_classify,
    parse_retry_after,
)

# Codes that mean "come back later, at the time named" (429s, in a 200 body or not).
RATE_CODES = {
    "COMPLEXITY_BUDGET_EXHAUSTED",
    "ComplexityException",
    "maxConcurrencyExceeded",
    "Rate Limit Exceeded",
    "RATE_LIMIT_EXCEEDED",
    "IP_RATE_LIMIT_EXCEEDED",
    "DAILY_LIMIT_EXCEEDED",
}
BUDGET_CODES = {"COMPLEXITY_BUDGET_EXHAUSTED", "ComplexityException"}
FORBIDDEN_CODES = {"UserUnauthorizedException", "USER_ACCESS_DENIED", "missingRequiredPermissions", "Forbidden"}
UNAUTHORIZED_CODES = {"Unauthorized", "UNAUTHENTICATED", "NotAuthenticated"}
NOT_FOUND_CODES = {"ResourceNotFoundException"}
UNAVAILABLE_CODES = {"API_TEMPORARILY_BLOCKED", "INTERNAL_SERVER_ERROR", "IDEMPOTENCY_CONFLICT"}
# Everything else in errors[] is permanent for this request as it stands: ColumnValueException,
# CorrectedValueException, InvalidColumnIdException, InvalidBoardIdException, InvalidArgumentException,
# InvalidVersionException, ItemNameTooLongException, ItemsLimitationException, parse/validation errors...
COLUMN_CODES = {"ColumnValueException", "InvalidColumnIdException", "CorrectedValueException"}

_RESET_IN = re.compile(r"reset in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


class MondayClient(TokenClient):
    provider = "monday"
    # GraphQL reads are idempotent; mutations are marked per call.
    idempotent_methods = frozenset()

    token_label = "Monday"
    token_prefix = ""  # the raw token, no "Bearer" (vendors doc §1.1, trap 1)

    def __init__(self, connection=None, *, token: str | None = None, account_id: str = "", **kwargs):
        super().__init__(connection, access_token=token, **kwargs)
        self._account = account_id or (getattr(connection, "external_account_id", "") or "")
        self._operation = ""

    @property
    def base_url(self) -> str:
        return settings.MONDAY_API_URL

    @property
    def account_id(self) -> str:
        """The Monday account id, once known (from the connection or a response's `account_id`)."""
        return self._account

    @property
    def account(self) -> str:
        """The key of the shared complexity budget: the Monday account (or the connection until known)."""
        if self._account:
            return self._account
        return f"conn{getattr(self.connection, 'pk', None) or 'new'}"

    # --- credentials ------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {**super().auth_headers(), "API-Version": settings.MONDAY_API_VERSION}

    def refresh_tokens(self, conn, audit):
        # Only the OAuth 2.1 flow stores refresh tokens (vendors doc §1.8, trap 11).
        from integrations.monday.oauth import refresh_tokens

        return refresh_tokens(conn, audit)

    def rate_limit_key(self, method: str, path: str) -> str | None:
        # Budgets are per Monday account, whichever tenant or connection spends them (trap 29).
        return f"monday:{self.account}"

    # --- the one call -------------------------------------------------------------------------
    def execute(self, operation: str, variables: dict | None = None) -> dict:
        """Run one document from queries.py; returns `data`. Waits for the budget when it must."""
        document = queries.ALL[operation]
        mutation = operation in queries.MUTATIONS
        wait = budget.wait_needed(self.account, operation)
        if wait > 0:
            from mlconnector.ratelimit import limiter

            limiter().block(self.rate_limit_key("POST", ""), wait)
        self._operation = operation
        for attempt in range(1, 4):
            try:
                _, payload = self.request(
                    "POST",
                    self.base_url,
                    json={"query": document, "variables": variables or {}},
                    headers={"Content-Type": "application/json"},
                    idempotent=not mutation,
                    audit_message=operation,
                )
            except RateLimited as exc:
                if exc.code in BUDGET_CODES and exc.retry_after is not None:
                    budget.exhausted(self.account, exc.retry_after)
                # A call refused for a limit was not executed, so even a mutation may go again once
                # the wait is short enough to sit out here (request() sleeps through the block).
                short = exc.retry_after is not None and exc.retry_after <= settings.MLCONNECTOR_MAX_INLINE_WAIT
                if exc.code in RATE_CODES and short and attempt < 3:
                    continue
                raise
            break
        data = (payload or {}).get("data") or {}
        return data

    # --- hooks ----------------------------------------------------------------------------------
    def observe(self, response: requests.Response, data: Any) -> None:
        if isinstance(data, dict):
            if data.get("account_id") and not self._account:
                self._account = str(data["account_id"])
            complexity = (data.get("data") or {}).get("complexity") if isinstance(data.get("data"), dict) else None
            if isinstance(complexity, dict):
                budget.observe(self.account, self._operation, complexity)

    def classify(self, response: requests.Response, data: Any) -> None:
        classify(response, data)

    def remote_id(self, response: requests.Response, data: Any) -> str:
        body = (data or {}).get("data") if isinstance(data, dict) else None
        for key in ("create_item", "change_multiple_column_values"):
            if isinstance(body, dict) and isinstance(body.get(key), dict):
                return str(body[key].get("id") or "")
        return ""


# --- classification -----------------------------------------------------------------------------


def _errors(data: Any) -> list[dict]:
    """errors[] in the unified format, or one error built from the legacy top-level fields."""
    if not isinstance(data, dict):
        return []
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    if data.get("error_code") or data.get("error_message"):
        legacy = {
            "message": str(data.get("error_message") or data.get("error_code")),
            "extensions": {
                "code": str(data.get("error_code") or ""),
                "status_code": data.get("status_code"),
                "error_data": data.get("error_data") or {},
            },
        }
        errors.insert(0, legacy)
    return errors


def _code(error: dict) -> str:
    extensions = error.get("extensions") or {}
    code = str(extensions.get("code") or error.get("error_code") or "")
    message = str(error.get("message") or "")
    if not code and message.lower().startswith("rate limit exceeded"):
        return "Rate Limit Exceeded"
    if not code and message.lower().startswith("parse error"):
        return "ParseError"
    return code


def _retry_after(response: requests.Response, error: dict | None) -> float | None:
    extensions = (error or {}).get("extensions") or {}
    for source in (extensions, (extensions.get("error_data") or {}), error or {}):
        for key in ("retry_in_seconds", "retry_after"):
            value = source.get(key) if isinstance(source, dict) else None
            if value is not None:
                try:
                    return max(0.0, float(value))
                except (TypeError, ValueError):
                    pass
    header = parse_retry_after(response.headers.get("Retry-After"))
    if header is not None:
        return header
    match = _RESET_IN.search(str((error or {}).get("message") or ""))
    return float(match.group(1)) if match else None


def _until_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return (midnight - now).total_seconds()


def _describe(error: dict) -> str:
    message = str(error.get("message") or "Monday reported an error")
    extensions = error.get("extensions") or {}
    data = extensions.get("error_data") or {}
    details = []
    if isinstance(data, dict):
        for key in ("column_id", "column_name", "column_type", "item_id", "board_id", "column_value"):
            if data.get(key) not in (None, ""):
                details.append(f"{key}={data[key]}")
    return message + (f" ({', '.join(details)})" if details else "")


def classify(response: requests.Response, data: Any) -> None:
    """Raise the typed error a Monday response means; return only when it is a success."""
    errors = _errors(data)
    status = response.status_code
    if not errors:
        if status == 423:
            raise RateLimited(
                "Monday says the resource is locked by another update",
                status=status,
                code="locked",
                retry_after=_retry_after(response, None) or 1.0,
            )
        default_classify(response)
        if 200 <= status < 300 and not isinstance(data, dict):
            raise Unavailable("Monday sent a response that is not JSON", status=status)
        return
    first = errors[0]
    # Limits first: a budget error alongside others is still a "come back later".
    limit = next((e for e in errors if _code(e) in RATE_CODES), None)
    if limit is not None:
        code = _code(limit)
        retry = _retry_after(response, limit)
        if code == "DAILY_LIMIT_EXCEEDED" and retry is None:
            retry = _until_midnight_utc()  # the daily limit resets at midnight UTC
        raise RateLimited(_describe(limit), status=status, code=code, retry_after=retry if retry is not None else 60.0)
    code = _code(first)
    message = _describe(first)
    http = (first.get("extensions") or {}).get("status_code")
    if status == 423 or http == 423:
        raise RateLimited(
            message, status=status, code=code or "locked", retry_after=_retry_after(response, first) or 1.0
        )
    if code in UNAUTHORIZED_CODES or status == 401:
        raise Unauthorized(message, status=status, code=code)
    if code in FORBIDDEN_CODES or status == 403:
        raise Forbidden(message, status=status, code=code)
    if code in NOT_FOUND_CODES or status == 404:
        raise NotFound(message, status=status, code=code)
    if code in UNAVAILABLE_CODES or status >= 500 or http == 500:
        raise Unavailable(message, status=status, code=code, retry_after=_retry_after(response, first))
    raise Rejected(message, status=status, code=code or "error")


def column_error(exc: ProviderError) -> bool:
    """Monday refused a value or a column id: the board may have changed under the map."""
    return isinstance(exc, Rejected) and exc.code in COLUMN_CODES
