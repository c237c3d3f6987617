"""OAuth 2 authorization-code onboarding, shared by every provider that uses it (authlib underneath).

An integration supplies an OAuthSpec (URLs, client credentials, scopes) and a `complete_oauth()`
that turns the token into a Connection. `state` is random, kept in the session, and popped on the
first callback, so it is single-use. Token calls go through authlib's requests client with our
audit hook and the same in-process transport as ApiClient; none happens inside a transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.audit.redaction import remember_secrets
from mlconnector.http import AuditContext, assert_no_transaction, mount_transport


@dataclass
class OAuthSpec:
    provider: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: list[str] = field(default_factory=list)
    scope_separator: str = " "
    token_auth_method: str = "client_secret_post"
    authorize_params: dict[str, str] = field(default_factory=dict)


def redirect_uri(provider: str) -> str:
    return f"{settings.MLCONNECTOR_PUBLIC_URL}/connections/{provider}/callback/"


def session_for(spec: OAuthSpec, audit: AuditContext | None = None, **kwargs) -> OAuth2Session:
    session = OAuth2Session(
        client_id=spec.client_id,
        client_secret=spec.client_secret,
        scope=spec.scope_separator.join(spec.scopes) if spec.scopes else None,
        redirect_uri=redirect_uri(spec.provider),
        token_endpoint_auth_method=spec.token_auth_method,
        **kwargs,
    )
    mount_transport(session)
    session.hooks["response"].append(_audit_hook(spec.provider, audit or AuditContext()))
    return session


def _audit_hook(provider: str, ctx: AuditContext):
    def hook(response, *args, **kwargs):
        ok = 200 <= response.status_code < 300
        record(
            AuditRecord.Kind.HTTP,
            tenant=ctx.tenant,
            connection=ctx.connection if getattr(ctx.connection, "pk", None) else None,
            actor=ctx.actor,
            provider=provider,
            outcome=AuditRecord.Outcome.OK if ok else AuditRecord.Outcome.ERROR,
            method=response.request.method,
            url=response.request.url,
            status_code=response.status_code,
            duration_ms=int(response.elapsed.total_seconds() * 1000),
            message="token endpoint" if ok else "token endpoint refused the request",
        )
        return response

    return hook


def authorization_url(spec: OAuthSpec, state: str) -> str:
    url, _ = session_for(spec).create_authorization_url(spec.authorize_url, state=state, **spec.authorize_params)
    return url


def exchange_code(spec: OAuthSpec, code: str, audit: AuditContext) -> dict[str, Any]:
    assert_no_transaction()
    token = dict(session_for(spec, audit).fetch_token(spec.token_url, code=code, grant_type="authorization_code"))
    remember_secrets(token)
    return token


def refresh(spec: OAuthSpec, refresh_token: str, audit: AuditContext, **extra) -> dict[str, Any]:
    assert_no_transaction()
    token = dict(session_for(spec, audit).refresh_token(spec.token_url, refresh_token=refresh_token, **extra))
    remember_secrets(token)
    return token


def refresh_stored(spec: OAuthSpec, conn, audit: AuditContext, label: str, **extra) -> tuple[dict[str, Any], str]:
    """Spend the connection's stored (single-use) refresh token: the network half of a serialised
    refresh (connections/tokens.py). Returns the token response and the refresh token used; a
    refused or missing one means the person must reconnect."""
    from authlib.integrations.base_client.errors import OAuthError

    from mlconnector.http import Unauthorized, Unavailable

    refresh_token = conn.secrets().get("refresh_token")
    if not refresh_token:
        raise Unauthorized(f"no {label} refresh token stored", needs_reconnect=True)
    try:
        token = refresh(spec, refresh_token, audit.for_connection(conn), **extra)
    except OAuthError as exc:
        # invalid_grant / invalid_refresh_token: used already, revoked, or the app was removed.
        raise Unauthorized(f"{label} refused the refresh token ({exc.error})", needs_reconnect=True) from None
    except (ValueError, OSError) as exc:
        raise Unavailable(f"{label} token endpoint failed: {exc.__class__.__name__}") from None
    return token, refresh_token


def client_credentials_token(
    token_url: str, client_id: str, client_secret: str, audit: AuditContext, *, provider: str, auth_method: str
) -> dict[str, Any]:
    """A new access token for the client credentials grant (RFC 6749 §4.4): no user, no refresh
    token; the stored client id and secret are asked again whenever the token expires or is refused."""
    from authlib.integrations.base_client.errors import OAuthError

    from mlconnector.http import Unauthorized, Unavailable

    assert_no_transaction()
    session = OAuth2Session(client_id=client_id, client_secret=client_secret, token_endpoint_auth_method=auth_method)
    mount_transport(session)
    session.hooks["response"].append(_audit_hook(provider, audit))
    try:
        token = dict(session.fetch_token(token_url, grant_type="client_credentials"))
    except OAuthError as exc:
        # invalid_client / invalid_grant: the key or secret is wrong, revoked, or the flow is off.
        raise Unauthorized(f"{provider} refused the client credentials ({exc.error})", needs_reconnect=True) from None
    except (ValueError, OSError) as exc:
        raise Unavailable(f"{provider} token endpoint failed: {exc.__class__.__name__}") from None
    remember_secrets(token)
    return token


def expires_at(token: dict[str, Any]) -> datetime | None:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), tz=UTC)
    if token.get("expires_in"):
        return datetime.fromtimestamp(time.time() + float(token["expires_in"]), tz=UTC)
    return None
