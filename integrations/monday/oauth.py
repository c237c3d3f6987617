"""Connecting Monday.com: the OAuth spec and callback, the API-token form, and refresh (OAuth 2.1).

- OAuth: authorize and token both on the auth host (https://developer.monday.com/apps/docs/oauth).
  Legacy tokens never expire and come without a refresh token; apps opted into the new OAuth 2.1
  flow get `refresh_token` and `expires_in` (token path in settings.MONDAY_TOKEN_PATH), which are
  stored when present (vendors doc §1.8, trap 11).
- Personal API token: pasted by an admin, checked with `{ me { id name } account { id } }` before
  anything is stored.
Either way the connection is keyed by the Monday account id, so connecting the same account twice
updates the existing connection instead of doubling every item.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import OAuthSpec, expires_at, refresh_stored
from mlconnector.http import AuditContext, ProviderError, Unauthorized

PROVIDER = "monday"


def spec() -> OAuthSpec:
    return OAuthSpec(
        provider=PROVIDER,
        authorize_url=f"{settings.MONDAY_AUTH_URL}/oauth2/authorize",
        token_url=f"{settings.MONDAY_AUTH_URL}{settings.MONDAY_TOKEN_PATH}",
        client_id=settings.MONDAY_CLIENT_ID,
        client_secret=settings.MONDAY_CLIENT_SECRET,
        scopes=list(settings.MONDAY_SCOPES),
        scope_separator=" ",
    )


def credentials_from(token: dict, kind: str) -> dict:
    creds = {k: token[k] for k in ("access_token", "refresh_token", "token_type", "scope") if token.get(k)}
    creds["kind"] = kind
    return creds


def refresh_tokens(conn: Connection, audit: AuditContext):
    """The network half of a serialised refresh (connections/tokens.py); OAuth 2.1 tokens only."""
    token, used = refresh_stored(spec(), conn, audit, "Monday")
    creds = credentials_from(token, "oauth")
    creds.setdefault("refresh_token", used)  # kept when the response does not rotate it
    return creds, expires_at(token)


def who(token: str, audit: AuditContext) -> dict:
    """Ping with a token not stored yet: the user and account it belongs to."""
    from integrations.monday.client import MondayClient

    client = MondayClient(None, token=token, audit=audit)
    data = client.execute("Me")
    me, account = data.get("me") or {}, dict(data.get("account") or {})
    # Every response also names the account at the top level (`account_id`), used when `account` is null.
    account.setdefault("id", client.account_id)
    if not account.get("id") and client.account_id:
        account["id"] = client.account_id
    if not me.get("id") or not account.get("id"):
        raise Unauthorized("Monday did not say which user and account this token belongs to")
    return {"user": me, "account": account}


def connect(tenant, *, credentials: dict, token_expires_at, actor, reconnect: Connection | None) -> Connection:
    """Check the credentials with a ping, then store them (nothing is stored when the ping fails)."""
    audit = AuditContext(tenant=tenant, connection=reconnect, actor=actor)
    found = who(credentials["access_token"], audit)
    account = found["account"]
    account_id, name = str(account["id"]), account.get("name") or f"Monday account {account['id']}"
    if reconnect is not None and reconnect.external_account_id and reconnect.external_account_id != account_id:
        raise Unauthorized(
            f"That token belongs to a different Monday account ({name}) than this connection "
            f"({reconnect.name or reconnect.external_account_id})."
        )
    existing = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=account_id)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    config = {"account_slug": account.get("slug") or "", "user_name": found["user"].get("name") or ""}
    if existing is not None:
        conn = services.store_credentials(
            existing, credentials, expires_at=token_expires_at, actor=actor, message="reconnected: new Monday token"
        )
        services.update_config(conn, config, actor=actor, message="Monday account confirmed")
        Connection.objects.filter(pk=conn.pk).update(external_account_id=account_id, name=name)
        conn.external_account_id, conn.name = account_id, name
    else:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name=name,
            credentials=credentials,
            config=config,
            external_account_id=account_id,
            token_expires_at=token_expires_at,
        )
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to {name}")
    return conn


def complete_oauth(request, *, tenant, token: dict, reconnect: Connection | None):
    try:
        conn = connect(
            tenant,
            credentials=credentials_from(token, "oauth"),
            token_expires_at=expires_at(token),
            actor=request.user,
            reconnect=reconnect,
        )
    except ProviderError as exc:
        messages.error(request, f"Monday.com sign-in worked, but the account could not be read: {exc}")
        return redirect("home")
    messages.success(request, f"Monday.com connected: {conn.name}. Next, choose the boards for your records.")
    return redirect("monday-maps", conn.pk)


def connect_with_token(request, tenant, token: str, reconnect: Connection | None) -> Connection:
    return connect(
        tenant,
        credentials={"access_token": token, "kind": "personal"},
        token_expires_at=None,
        actor=request.user,
        reconnect=reconnect,
    )
