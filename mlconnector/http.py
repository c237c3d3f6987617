"""THE outbound client: every call to a provider goes through ApiClient.request().

What it guarantees, for every provider:
- credentials are attached last, by one method that also refreshes an expiring token; a 401
  refreshes once (serialised across workers) and retries once, then marks the connection
  "needs reconnect";
- failures become a small typed hierarchy (Unauthorized, Forbidden, NotFound, Rejected are
  permanent; RateLimited and Unavailable are retryable); providers override `classify()` for quirks
  such as errors that arrive with HTTP 200;
- short waits (Retry-After, a shared block after a 429) are slept through inline for idempotent
  calls only; anything longer is raised for the pipeline to reschedule;
- rate-limit state is shared by all workers (mlconnector.ratelimit);
- every attempt writes one audit row and one log line, redacted, and never from inside a
  transaction (a network call inside one is refused outright).
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.db import connection as db_connection
from django.utils.module_loading import import_string

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.audit.redaction import redact_mapping, redact_text

log = logging.getLogger("mlconnector.http")


# --- errors -------------------------------------------------------------------------------------


class ProviderError(Exception):
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
        needs_reconnect: bool = False,
        maybe_sent: bool = False,
    ):
        super().__init__(redact_text(message))
        self.message = redact_text(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.needs_reconnect = needs_reconnect
        # The request may have reached the provider (a read timeout, a broken response): sending it
        # again could repeat a non-idempotent write.
        self.maybe_sent = maybe_sent

    def __str__(self) -> str:
        parts = [self.message]
        if self.code and self.code not in self.message:
            parts.append(f"[{self.code}]")
        if self.status:
            parts.append(f"(HTTP {self.status})")
        return " ".join(parts)


class Unauthorized(ProviderError):
    """The credentials are not accepted (expired and not refreshable, revoked)."""


class Forbidden(ProviderError):
    """Authenticated, but not allowed (missing scope, plan feature)."""


class NotFound(ProviderError):
    pass


class Rejected(ProviderError):
    """The provider refused this request as it stands; sending it again will not help."""


class RateLimited(ProviderError):
    retryable = True


class Unavailable(ProviderError):
    """Timeouts, connection errors, 5xx, a lock held elsewhere: try again later."""

    retryable = True


class Waiting(ProviderError):
    """The target cannot take this yet, for a reason outside the pipeline that the integration
    watches (a Slack channel that is archived): the delivery waits without using attempts, and the
    integration resumes it when the reason is gone (pipeline/resume.py: resume_deliveries)."""


class TransactionOpen(RuntimeError):
    """A network call was attempted inside a database transaction."""


def assert_no_transaction() -> None:
    # Django's TestCase wraps each test in atomic blocks marked _from_testcase; those don't count.
    if db_connection.in_atomic_block and any(
        not getattr(block, "_from_testcase", False) for block in db_connection.atomic_blocks
    ):
        raise TransactionOpen("network call attempted inside a database transaction")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def default_classify(response: requests.Response, message: str = "", code: str = "") -> None:
    """Map an HTTP status onto the error hierarchy (2xx passes)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = message or f"{response.request.method} {response.reason or 'failed'}"
    if status == 401:
        raise Unauthorized(message, status=status, code=code)
    if status == 403:
        raise Forbidden(message, status=status, code=code)
    if status == 404:
        raise NotFound(message, status=status, code=code)
    if status == 429:
        raise RateLimited(
            message, status=status, code=code, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status in (408, 423, 425) or status >= 500:
        raise Unavailable(
            message, status=status, code=code, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    raise Rejected(message, status=status, code=code)


# --- audit context ------------------------------------------------------------------------------


@dataclass
class AuditContext:
    tenant: Any = None
    connection: Any = None
    event: Any = None
    delivery: Any = None
    actor: Any = None

    def for_connection(self, connection) -> AuditContext:
        return AuditContext(self.tenant or connection.tenant, connection, self.event, self.delivery, self.actor)

    def for_delivery(self, delivery) -> AuditContext:
        return AuditContext(self.tenant, self.connection, delivery.event, delivery, self.actor)


def mount_transport(session: requests.Session) -> requests.Session:
    """Mount the transport named by MLCONNECTOR_HTTP_TRANSPORT (a dotted path to a function taking
    the session), e.g. the test suite's in-process sandbox; by default requests' own adapters."""
    name = getattr(settings, "MLCONNECTOR_HTTP_TRANSPORT", "")
    if name:
        import_string(name)(session)
    return session


def build_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "ml-connector/0.1"
    return mount_transport(session)


# --- the client -------------------------------------------------------------------------------


class ApiClient:
    provider: ClassVar[str] = "generic"
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
    max_tries: ClassVar[int] = 3

    def __init__(self, connection=None, *, audit: AuditContext | None = None, session: requests.Session | None = None):
        self.connection = connection
        self.audit = audit or AuditContext(connection=connection)
        if connection is not None and self.audit.connection is None:
            self.audit.connection = connection
        self.session = session or build_session()

    # --- hooks for providers ----------------------------------------------------------------
    # Providers define `base_url` (usually a property reading settings, so tests can point it
    # at the sandbox); paths passed to request() are joined onto it.
    base_url: str = ""

    def auth_headers(self) -> dict[str, str]:
        """Credentials, attached at the last moment before each attempt."""
        return {}

    def can_refresh(self) -> bool:
        return False

    def refresh(self, seen_version: int) -> None:
        """Refresh the access token (serialised); raise Unauthorized when it cannot be done."""
        raise Unauthorized("token cannot be refreshed", needs_reconnect=True)

    def token_expiring(self) -> bool:
        conn = self.connection
        if conn is None or conn.token_expires_at is None or not self.can_refresh():
            return False
        from django.utils import timezone

        return conn.token_expires_at <= timezone.now() + _EXPIRY_MARGIN

    def classify(self, response: requests.Response, data: Any) -> None:
        default_classify(response, _error_message(data))

    def rate_limit_key(self, method: str, path: str) -> str | None:
        conn_id = getattr(self.connection, "pk", None)
        return f"{self.provider}:{conn_id or 'app'}"

    def observe(self, response: requests.Response, data: Any) -> None:
        """Read rate-limit headers after each response (optional)."""

    def pace(self, method: str, path: str) -> float:
        """Seconds to wait before this attempt so a budget shared by every worker is never overrun
        (e.g. HubSpot's requests per 10 s); 0 to go now. Called before every attempt, after any
        block; a wait longer than max_pace_wait() is handed back to the pipeline."""
        return 0.0

    def max_pace_wait(self) -> float:
        """The longest pacing wait slept through here (a provider whose one delivery makes several
        paced calls waits longer rather than abandon the calls it already made)."""
        return settings.MLCONNECTOR_MAX_INLINE_WAIT

    def remote_id(self, response: requests.Response, data: Any) -> str:
        return ""

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    # --- the one method ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        audit_message: str = "",
    ) -> tuple[requests.Response, Any]:
        """Send one logical request; returns (response, parsed JSON body or None)."""
        method = method.upper()
        idempotent = method in self.idempotent_methods if idempotent is None else idempotent
        url = self.url(path)
        limit_key = self.rate_limit_key(method, path)
        refreshed = False
        last_error: ProviderError | None = None
        for attempt in range(1, self.max_tries + 1):
            assert_no_transaction()
            if limit_key:
                self._wait_for_limit(limit_key, idempotent)
            self._wait_for_pace(method, path)
            if authenticate and self.token_expiring() and not refreshed:
                self._refresh()
                refreshed = True
            send_headers = {"Accept": "application/json", **(headers or {})}
            if authenticate:
                try:
                    send_headers.update(self.auth_headers())
                except Unauthorized as exc:  # nothing stored to authenticate with
                    exc.needs_reconnect = True
                    self._needs_reconnect(str(exc))
                    raise
            started = time.monotonic()
            response = None
            payload: Any = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=send_headers,
                    timeout=settings.MLCONNECTOR_HTTP_TIMEOUT,
                    allow_redirects=False,
                )
                payload = _parse_json(response)
                self.observe(response, payload)
                self.classify(response, payload)
            except requests.ConnectTimeout as exc:
                last_error = Unavailable(f"timed out connecting: {exc.__class__.__name__}")
            except requests.Timeout as exc:
                last_error = Unavailable(f"timed out: {exc.__class__.__name__}", maybe_sent=True)
            except requests.ConnectionError as exc:
                last_error = Unavailable(f"connection failed: {exc.__class__.__name__}")
            except requests.RequestException as exc:  # broken chunking, bad encoding, ...
                last_error = Unavailable(f"request failed: {exc.__class__.__name__}", maybe_sent=True)
            except ProviderError as exc:
                last_error = exc
            else:
                last_error = None
            duration_ms = int((time.monotonic() - started) * 1000)
            self._audit(method, url, response, payload, duration_ms, last_error, audit_message)
            if last_error is None:
                return response, payload

            # classify() sets needs_reconnect when a new token cannot help (revoked, account inactive).
            can_retry_auth = not last_error.needs_reconnect and self.can_refresh() and not refreshed
            if isinstance(last_error, Unauthorized) and authenticate and can_retry_auth:
                self._refresh()
                refreshed = True
                continue
            if isinstance(last_error, Unauthorized) and authenticate:
                last_error.needs_reconnect = True
                self._needs_reconnect(str(last_error))
                raise last_error
            if isinstance(last_error, RateLimited) and limit_key:
                from mlconnector.ratelimit import limiter

                limiter().block(limit_key, last_error.retry_after or 1.0)
            if not last_error.retryable or not idempotent or attempt == self.max_tries:
                raise last_error
            wait = last_error.retry_after if last_error.retry_after is not None else 0.25 * 2 ** (attempt - 1)
            if wait > settings.MLCONNECTOR_MAX_INLINE_WAIT:
                raise last_error
            time.sleep(wait)
        assert last_error is not None
        raise last_error

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)[1]

    # --- internals -----------------------------------------------------------------------------
    def _wait_for_limit(self, key: str, idempotent: bool) -> None:
        from mlconnector.ratelimit import limiter

        wait = limiter().blocked_for(key)
        if wait <= 0:
            return
        if wait <= settings.MLCONNECTOR_MAX_INLINE_WAIT:
            time.sleep(wait)
            return
        raise RateLimited(f"{self.provider} asked us to wait {wait:.0f}s", retry_after=wait)

    def _wait_for_pace(self, method: str, path: str) -> None:
        wait = self.pace(method, path)
        if wait <= 0:
            return
        if wait <= self.max_pace_wait():
            time.sleep(wait)
            return
        raise RateLimited(f"{self.provider}'s request budget is spoken for; next slot in {wait:.1f}s", retry_after=wait)

    def refresh_now(self) -> None:
        """Refresh the access token now (proactive refresh); marks the connection on failure."""
        self._refresh()

    def _refresh(self) -> None:
        seen = self.connection.credentials_version if self.connection is not None else 0
        try:
            self.refresh(seen)
        except Unauthorized as exc:
            exc.needs_reconnect = True
            self._needs_reconnect(str(exc))
            raise

    def _needs_reconnect(self, reason: str) -> None:
        if self.connection is None:
            return
        from mlconnector.connections.services import mark_needs_reconnect

        mark_needs_reconnect(self.connection, reason)

    def _audit(self, method, url, response, payload, duration_ms, error, message) -> None:
        status = response.status_code if response is not None else None
        if error is None:
            outcome = AuditRecord.Outcome.OK
        elif error.retryable:
            outcome = AuditRecord.Outcome.RETRY
        else:
            outcome = AuditRecord.Outcome.ERROR
        ctx = self.audit
        record(
            AuditRecord.Kind.HTTP,
            tenant=ctx.tenant,
            connection=self.connection,
            event=ctx.event,
            delivery=ctx.delivery,
            actor=ctx.actor,
            provider=self.provider,
            outcome=outcome,
            method=method,
            url=url,
            status_code=status,
            duration_ms=duration_ms,
            remote_id=self.remote_id(response, payload) if error is None and response is not None else "",
            message=str(error) if error else message,
            payload={"response": _excerpt(payload)} if error is not None and payload is not None else None,
        )


class TokenClient(ApiClient):
    """A client authenticated by the connection's stored access token (or one given explicitly,
    e.g. a token being checked before it is stored). When a refresh token is stored, an expiring or
    refused token is refreshed once across all workers (connections/tokens.py); providers supply
    only the network half, `refresh_tokens(conn, audit) -> (credentials, expires_at)`."""

    token_label: ClassVar[str] = ""
    token_prefix: ClassVar[str] = "Bearer "

    def __init__(self, connection=None, *, access_token: str | None = None, **kwargs):
        super().__init__(connection, **kwargs)
        self._access_token = access_token

    def refresh_tokens(self, conn, audit: AuditContext):
        raise Unauthorized("token cannot be refreshed", needs_reconnect=True)

    def auth_headers(self) -> dict[str, str]:
        token = self._access_token or (self.connection.secrets().get("access_token") if self.connection else None)
        if not token:
            raise Unauthorized(f"no {self.token_label or self.provider} access token stored", needs_reconnect=True)
        return {"Authorization": f"{self.token_prefix}{token}"}

    def can_refresh(self) -> bool:
        # A client given a token explicitly uses that token: refreshing the stored one would not help.
        return (
            self._access_token is None
            and self.connection is not None
            and bool(self.connection.secrets().get("refresh_token"))
        )

    def refresh(self, seen_version: int) -> None:
        from mlconnector.connections.tokens import RefreshBusy, refresh_serialised

        try:
            fresh = refresh_serialised(self.connection, seen_version, lambda c: self.refresh_tokens(c, self.audit))
        except RefreshBusy as exc:
            raise Unavailable(str(exc)) from None
        # In place: the integration and the audit context hold this same Connection object.
        for name in ("credentials", "credentials_version", "token_expires_at"):
            setattr(self.connection, name, getattr(fresh, name))


class ClientCredentialsClient(TokenClient):
    """For providers that issue no refresh token (Salesforce's client credentials flow): a new
    access token is asked for with the stored `client_id` and `client_secret` when there is none,
    when it expires, and once on a 401, serialised per connection exactly like a refresh
    (connections/tokens.py), so concurrent workers ask once and all use the answer.

    Providers supply `token_url()` and, if the token response carries more than the access token
    (Salesforce's `instance_url`), `keep_from_token()`."""

    token_auth_method: ClassVar[str] = "client_secret_post"

    def token_url(self) -> str:
        raise NotImplementedError

    def keep_from_token(self, token: dict) -> dict:
        return {"access_token": token["access_token"]}

    def can_refresh(self) -> bool:
        if self._access_token is not None or self.connection is None:
            return False
        secrets = self.connection.secrets()
        return bool(secrets.get("client_id") and secrets.get("client_secret"))

    def auth_headers(self) -> dict[str, str]:
        if self.can_refresh() and not self.connection.secrets().get("access_token"):
            self._refresh()  # nothing issued yet (or cleared): ask first, then call
        return super().auth_headers()

    def refresh_tokens(self, conn, audit: AuditContext):
        from mlconnector.connections.oauth import client_credentials_token, expires_at

        secrets = conn.secrets()
        token = client_credentials_token(
            self.token_url(),
            secrets["client_id"],
            secrets["client_secret"],
            audit.for_connection(conn),
            provider=self.provider,
            auth_method=self.token_auth_method,
        )
        return {**secrets, **self.keep_from_token(token)}, expires_at(token)


_EXPIRY_MARGIN = timedelta(seconds=120)


def _parse_json(response: requests.Response) -> Any:
    if not response.content:
        return None
    ctype = response.headers.get("Content-Type", "")
    if "json" not in ctype and not response.content.lstrip().startswith((b"{", b"[")):
        return None
    try:
        return jsonlib.loads(response.content, parse_float=Decimal)
    except ValueError:
        return None


def _error_message(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("error_description", "message", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def _excerpt(payload: Any) -> Any:
    """A redacted, bounded copy of an error body for the audit row."""
    text = jsonlib.dumps(redact_mapping(payload), default=str)
    return jsonlib.loads(text) if len(text) <= 4000 else text[:4000]
