"""Connecting HubSpot by signing in to a public app (OAuth 2, vendors doc §2.1), beside the private app token.

- Offered only when the server has a HubSpot app (HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET; the
  sandbox's outside production): `configured()`.
- Authorize on app.hubspot.com (HUBSPOT_AUTH_URL) with the required `scope` and an `optional_scope`
  (invoices and line items, which a hub may not have); the core keeps `state` in the session, single use.
- Token: POST {HUBSPOT_API_URL}{HUBSPOT_TOKEN_PATH}, form-encoded, client id and secret in the body.
  v1 (/oauth/v1/token) is deprecated on 2027-02-16; /oauth/2026-03/token takes the same body, so the
  path is a setting. The answer is {access_token, refresh_token, expires_in (~1800: always used, never
  assumed), token_type[, hub_id, scopes, token_use]}.
- After the code exchange, `connect.connect_hub` does what the private app connect does (hub check
  through GET /account-info/v3/details, the FreshBooks properties, the same-hub replacement).
- Refresh (`refresh_tokens`) is only the network half of the core's serialised refresh: one refresh
  per connection across every worker (connections/tokens.py). HubSpot's v1 errors are not RFC 6749
  shaped ({"status": "BAD_REFRESH_TOKEN", "message": …} with a 400, no `error`), which authlib would
  take for a token: a compliance hook turns a 4xx into "refused, reconnect" and a 5xx into "try later".
"""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.audit.redaction import remember_secrets
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import OAuthSpec, expires_at, session_for
from mlconnector.http import AuditContext, ProviderError, Unauthorized, Unavailable, assert_no_transaction

PROVIDER = "hubspot"


def configured() -> bool:
    return bool(settings.HUBSPOT_CLIENT_ID and settings.HUBSPOT_CLIENT_SECRET)


def token_url() -> str:
    return f"{settings.HUBSPOT_API_URL}{settings.HUBSPOT_TOKEN_PATH}"


def spec() -> OAuthSpec:
    optional = " ".join(settings.HUBSPOT_OPTIONAL_SCOPES)
    return OAuthSpec(
        provider=PROVIDER,
        authorize_url=settings.HUBSPOT_AUTH_URL,
        token_url=token_url(),
        client_id=settings.HUBSPOT_CLIENT_ID,
        client_secret=settings.HUBSPOT_CLIENT_SECRET,
        scopes=list(settings.HUBSPOT_SCOPES),
        scope_separator=" ",
        authorize_params={"optional_scope": optional} if optional else {},
    )


def credentials_from(token: dict) -> dict:
    creds = {k: token[k] for k in ("access_token", "refresh_token", "token_type") if token.get(k)}
    creds["kind"] = "oauth"
    return creds


def _refusal(body: dict) -> str:
    """HubSpot's words for a refused token call, v1 ({status, message}) or RFC 6749 ({error, error_description})."""
    code = str(body.get("error") or body.get("status") or body.get("category") or "refused")
    words = str(body.get("error_description") or body.get("message") or "")
    return f"{code}: {words}" if words else code


def _token_errors(response, *args, **kwargs):
    """authlib compliance hook: a refused refresh means reconnect; HubSpot failing means try again later."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    if status == 429 or status >= 500:
        raise Unavailable(f"HubSpot's token endpoint answered {status}; the refresh will be tried again")
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    raise Unauthorized(f"HubSpot refused the refresh token ({_refusal(body)})", needs_reconnect=True)


def refresh_tokens(conn: Connection, audit: AuditContext):
    """Spend the stored refresh token for a new access token: (credentials, expires_at)."""
    used = conn.secrets().get("refresh_token")
    if not used:
        raise Unauthorized("no HubSpot refresh token stored", needs_reconnect=True)
    assert_no_transaction()
    session = session_for(spec(), audit.for_connection(conn))
    session.register_compliance_hook("refresh_token_response", _token_errors)
    try:
        token = dict(session.refresh_token(token_url(), refresh_token=used))
    except OAuthError as exc:  # an RFC 6749 error body with a 2xx (the hook takes every other status)
        raise Unauthorized(f"HubSpot refused the refresh token ({exc.error})", needs_reconnect=True) from None
    except (ValueError, OSError) as exc:
        raise Unavailable(f"HubSpot token endpoint failed: {exc.__class__.__name__}") from None
    remember_secrets(token)
    if not token.get("access_token"):
        raise Unavailable("HubSpot's token endpoint answered without an access token")
    creds = credentials_from(token)
    creds.setdefault("refresh_token", used)  # HubSpot may answer with the same one, or none
    return creds, expires_at(token)


def complete_oauth(request, *, tenant, token: dict, reconnect: Connection | None):
    """The core's callback exchanged the code; check the hub and store (nothing is stored on failure)."""
    from integrations.hubspot.connect import connect_hub

    if not token.get("access_token"):
        # A v1 error body ({"status": "BAD_AUTH_CODE", …}) reaches here as a "token" without one.
        reason = _refusal(token)
        _failed(request, tenant, reconnect, f"token exchange refused: {reason}")
        messages.error(request, f"HubSpot refused the sign-in ({reason}). Nothing was connected; please connect again.")
        return redirect("home")
    try:
        conn = connect_hub(
            tenant,
            credentials=credentials_from(token),
            expires_at=expires_at(token),
            actor=request.user,
            reconnect=reconnect,
            hub_id=str(token.get("hub_id") or ""),
        )
    except ProviderError as exc:
        _failed(request, tenant, reconnect, f"sign-in refused: {exc}")
        messages.error(request, f"HubSpot sign-in worked, but the hub could not be set up: {exc}. Nothing was saved.")
        return redirect("home")
    messages.success(
        request,
        f"HubSpot connected: {conn.name}, by sign-in. Next, run Backfill from FreshBooks so the history counts.",
    )
    return redirect("connection-detail", pk=conn.pk)


def _failed(request, tenant, reconnect, message: str) -> None:
    record(
        AuditRecord.Kind.CONNECTION,
        tenant=tenant,
        connection=reconnect,
        provider=PROVIDER,
        actor=request.user,
        outcome=AuditRecord.Outcome.ERROR,
        message=message,
    )
