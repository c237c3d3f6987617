"""Salesforce's REST API through the one outbound client (vendors doc §3, Traps 22-28).

- Tokens: the client credentials grant at `<My Domain>/services/oauth2/token` (never login. or
  test.salesforce.com), through the core's ClientCredentialsClient: no refresh token; a new token
  when none is stored and once on a 401 INVALID_SESSION_ID, serialised per connection. The token
  response's `instance_url` is where the API is called.
- Errors: bodies are JSON arrays of {message, errorCode, fields}; Salesforce's own message is what
  the audit log shows. 403 REQUEST_LIMIT_EXCEEDED (the org's daily allowance) waits like a rate
  limit; 300 (several records share an external id) fails naming them.
- Limits: every answer's `Sforce-Limit-Info: api-usage=N/M` (each `;` segment parsed on its own) is
  kept per connection for the connection page; below SALESFORCE_LOW_ALLOWANCE of the allowance
  left, calls are spaced out (SALESFORCE_LOW_ALLOWANCE_PAUSE seconds apart, across workers).
- Upsert by external id: the value in the URL (quoted), never in the body; 201 created, 200 with
  `created: false` or 204 (before v46.0) updated.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.cache import cache

from mlconnector.http import (
    ClientCredentialsClient,
    Forbidden,
    NotFound,
    RateLimited,
    Rejected,
    Unauthorized,
    default_classify,
)

# What a client uses before a version is pinned (simple-salesforce's default, vendors doc §3.2).
DEFAULT_VERSION = "59.0"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def base_for(host: str) -> str:
    """Where a Salesforce host is reached: the host itself in production, the sandbox elsewhere."""
    template = settings.SALESFORCE_BASE_URL or f"{settings.MLCONNECTOR_SANDBOX_URL}/salesforce/{{host}}"
    return template.format(host=host).rstrip("/")


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def record_url(instance_url: str, sobject: str, record_id: str) -> str:
    """A record as a person opens it in Lightning."""
    return f"{base_for(host_of(instance_url))}/lightning/r/{sobject}/{record_id}/view"


def dumps(body: Any) -> str:
    """JSON with Decimals written as exact numbers (Amount 6000.10 stays 6000.10, never a float)."""
    marks: dict[str, str] = {}

    def default(value):
        if isinstance(value, Decimal):
            key = f"\x00{len(marks)}\x00"
            marks[json.dumps(key)] = format(value, "f")
            return key
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(body, default=default)
    for key, number in marks.items():
        text = text.replace(key, number)
    return text


def parse_limit_info(header: str) -> tuple[int, int] | None:
    """`api-usage=18/5000; api-bursts=1/750` -> (18, 5000); each segment on its own."""
    for segment in (header or "").split(";"):
        match = _USAGE.search(segment.strip())
        if match and segment.strip().startswith("api-usage"):
            return int(match.group(1)), int(match.group(2))
    return None


def usage_cache_key(connection_id: int) -> str:
    return f"salesforce:api-usage:{connection_id}"


def remember_usage(connection_id: int, found: tuple[int, int]) -> None:
    used, limit = found
    cache.set(usage_cache_key(connection_id), {"used": used, "max": limit, "at": time.time()}, 2 * 86400)


def api_usage(connection_id: int) -> dict | None:
    """The org's daily API usage as last reported to this connection: {used, max, at}."""
    return cache.get(usage_cache_key(connection_id))


def soql_string(value: str) -> str:
    """A quoted SOQL string literal: backslashes and quotes escaped (and the control characters SOQL
    escapes), so a value can never end the literal early."""
    escaped = (
        str(value)
        .replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def errors_of(data: Any) -> list[dict]:
    if isinstance(data, list):
        return [e for e in data if isinstance(e, dict)]
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return [e for e in data["errors"] if isinstance(e, dict)]
    return []


def describe_errors(errors: list[dict]) -> tuple[str, str]:
    """Salesforce's own words, with the fields it names: (message, first errorCode)."""
    parts = []
    for e in errors:
        text = str(e.get("message") or "").strip()
        fields = [f for f in (e.get("fields") or []) if f]
        if fields and not all(f in text for f in fields):
            text += f" (fields: {', '.join(fields)})"
        parts.append(text)
    code = str(errors[0].get("errorCode") or errors[0].get("statusCode") or "") if errors else ""
    return "; ".join(p for p in parts if p), code


@dataclass
class Upserted:
    id: str
    created: bool


class SalesforceClient(ClientCredentialsClient):
    provider = "salesforce"
    token_label = "Salesforce"

    def __init__(
        self,
        connection=None,
        *,
        my_domain: str = "",
        instance_url: str = "",
        version: str = "",
        access_token: str | None = None,
        **kwargs,
    ):
        super().__init__(connection, access_token=access_token, **kwargs)
        config = (connection.config or {}) if connection is not None else {}
        self.my_domain = my_domain or config.get("my_domain", "")
        self._instance_url = instance_url
        self.version = version or config.get("api_version") or DEFAULT_VERSION
        self.last_usage: tuple[int, int] | None = None  # the latest Sforce-Limit-Info (used, max)

    # --- where ---------------------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        stored = self.connection.secrets().get("instance_url") if self.connection is not None else ""
        # Before the first token, the org's My Domain is its instance URL too.
        return self._instance_url or stored or self.my_domain

    @property
    def base_url(self) -> str:
        return f"{base_for(host_of(self.instance_url))}/services/data/v{self.version}"

    def url(self, path: str) -> str:
        if path.startswith("/services/"):  # host-relative paths (nextRecordsUrl, the version list)
            return base_for(host_of(self.instance_url)) + path
        return super().url(path)

    def token_url(self) -> str:
        return f"{base_for(host_of(self.my_domain))}/services/oauth2/token"

    def keep_from_token(self, token: dict) -> dict:
        return {"access_token": token["access_token"], "instance_url": token.get("instance_url") or self.my_domain}

    # --- answers -------------------------------------------------------------------------------
    def classify(self, response, data) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        errors = errors_of(data)
        message, code = describe_errors(errors)
        if status == 300:
            matches = [
                str(x).rsplit("/", 1)[-1] for x in (data if isinstance(data, list) else []) if isinstance(x, str)
            ]
            raise Rejected(
                "Several Salesforce records have this external id ("
                + (", ".join(matches) or "the list was empty")
                + "): merge or correct the duplicates in Salesforce, then replay.",
                status=300,
                code="MULTIPLE_CHOICES",
            )
        if status == 401:
            # INVALID_SESSION_ID: the session ended; a new token is asked for once (ApiClient).
            raise Unauthorized(message or "Session expired or invalid", status=401, code=code or "INVALID_SESSION_ID")
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            raise RateLimited(
                f"{message or 'TotalRequests Limit exceeded.'} The org's daily API allowance is used up; "
                "waiting for it to free up",
                status=403,
                code=code,
                retry_after=settings.SALESFORCE_LIMIT_RETRY_SECONDS,
            )
        if status == 403:
            raise Forbidden(message or "Salesforce refused this request", status=403, code=code)
        if status == 404:
            raise NotFound(message or "The requested resource does not exist", status=404, code=code)
        default_classify(response, message, code)

    def observe(self, response, data) -> None:
        found = parse_limit_info(response.headers.get("Sforce-Limit-Info", ""))
        if found is None:
            return
        self.last_usage = found
        if self.connection is None:
            return
        remember_usage(self.connection.pk, found)
        used, limit = found
        if limit and (limit - used) / limit < settings.SALESFORCE_LOW_ALLOWANCE:
            from mlconnector.ratelimit import limiter

            key = self.rate_limit_key("", "")
            if key:
                limiter().block(key, settings.SALESFORCE_LOW_ALLOWANCE_PAUSE)

    def remote_id(self, response, data) -> str:
        return str(data.get("id") or "") if isinstance(data, dict) else ""

    # --- calls -------------------------------------------------------------------------------
    def versions(self) -> list[dict]:
        return list(self.get("/services/data/") or [])

    def limits(self) -> dict:
        return self.get("limits") or {}

    def describe(self, sobject: str) -> dict:
        return self.get(f"sobjects/{sobject}/describe") or {}

    def sobject_names(self) -> set[str]:
        """The org's objects this user can see (describe global, `GET sobjects/`): licensed objects
        such as Order Management's Invoice are listed only where the org has them."""
        data = self.get("sobjects") or {}
        return {str(o.get("name")) for o in data.get("sobjects") or [] if isinstance(o, dict)}

    def _send_json(self, method: str, path: str, body: Any, **kwargs):
        return self.request(
            method, path, data=dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}, **kwargs
        )

    def upsert(self, sobject: str, field: str, value: str, body: dict, *, audit_message: str = "") -> Upserted:
        """PATCH sobjects/<T>/<ExtField>/<value>: safe to repeat, so retried like a PUT."""
        path = f"sobjects/{sobject}/{field}/{quote(str(value), safe='')}"
        response, data = self._send_json("PATCH", path, body, idempotent=True, audit_message=audit_message)
        if response.status_code == 201:
            return Upserted(id=str(data["id"]), created=True)
        if isinstance(data, dict) and data.get("id"):
            return Upserted(id=str(data["id"]), created=bool(data.get("created")))
        # 204 (before v46.0): updated, no body; read the id back.
        found = self.get_by_external_id(sobject, field, value)
        return Upserted(id=str((found or {}).get("Id") or ""), created=False)

    def get_by_external_id(self, sobject: str, field: str, value: str, fields: tuple[str, ...] = ("Id",)):
        path = f"sobjects/{sobject}/{field}/{quote(str(value), safe='')}"
        try:
            return self.get(path, params={"fields": ",".join(fields)})
        except NotFound as exc:
            if "external id field" in exc.message.lower():
                raise
            return None

    def query(self, soql: str) -> Iterator[dict]:
        """Every record a query matches, following `nextRecordsUrl` (host-relative) until done."""
        data = self.get("query", params={"q": soql}) or {}
        while True:
            yield from data.get("records") or []
            if data.get("done", True) or not data.get("nextRecordsUrl"):
                return
            data = self.get(data["nextRecordsUrl"]) or {}

    def upsert_collection(self, sobject: str, field: str, records: list[dict]) -> list[dict]:
        """sObject Collections upsert (up to 200 records of one type, each carrying its external id in
        the body): one result per record, in order; per-record failures come back inside HTTP 200."""
        if len(records) > 200:
            raise ValueError("a collection call takes at most 200 records")
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        _, data = self._send_json("PATCH", f"composite/sobjects/{sobject}/{field}", body, idempotent=True)
        return list(data or [])
