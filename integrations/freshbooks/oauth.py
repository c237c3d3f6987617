"""FreshBooks OAuth: the spec, the refresh call, and turning a fresh token into a Connection.

Authorize on the auth host, exchange on the API host (/auth/oauth/token), client credentials in the
body, and `redirect_uri` on refresh too (the SDK sends it; FreshBooks expects it). Access tokens last
12 hours; refresh tokens never expire but are single-use (vendors doc §1.1).
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import OAuthSpec, expires_at, redirect_uri, refresh_stored
from mlconnector.http import AuditContext

PROVIDER = "freshbooks"


def spec() -> OAuthSpec:
    return OAuthSpec(
        provider=PROVIDER,
        authorize_url=f"{settings.FRESHBOOKS_AUTH_URL}/oauth/authorize",
        token_url=f"{settings.FRESHBOOKS_API_URL}/auth/oauth/token",
        client_id=settings.FRESHBOOKS_CLIENT_ID,
        client_secret=settings.FRESHBOOKS_CLIENT_SECRET,
        scopes=list(settings.FRESHBOOKS_SCOPES),
        scope_separator=" ",
    )


def credentials_from(token: dict) -> dict:
    return {k: token[k] for k in ("access_token", "refresh_token", "token_type", "scope") if token.get(k)}


def refresh_tokens(conn: Connection, audit: AuditContext):
    """The network half of a serialised refresh (connections/tokens.py holds the lease)."""
    token, _ = refresh_stored(spec(), conn, audit, "FreshBooks", redirect_uri=redirect_uri(PROVIDER))
    return credentials_from(token), expires_at(token)


def businesses(me: dict) -> list[dict]:
    """The businesses this identity can connect, from /users/me business_memberships."""
    out = []
    for membership in me.get("business_memberships") or []:
        business = membership.get("business") or {}
        if not business.get("account_id"):
            continue
        out.append(
            {
                "id": str(business["account_id"]),
                "name": business.get("name") or business["account_id"],
                "account_id": str(business["account_id"]),
                "business_uuid": business.get("business_uuid") or "",
                "business_id": business.get("id"),
                "role": membership.get("role") or "",
            }
        )
    return out


def complete_oauth(request, *, tenant, token: dict, reconnect: Connection | None):
    """Store the token, discover the businesses, and finish or ask the user to pick one."""
    from integrations.freshbooks.client import FreshBooksClient

    actor = request.user
    creds = credentials_from(token)
    if reconnect is not None:
        conn = services.store_credentials(
            reconnect, creds, expires_at=expires_at(token), actor=actor, message="reconnected: new FreshBooks tokens"
        )
    else:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name="FreshBooks",
            credentials=creds,
            token_expires_at=expires_at(token),
        )
    client = FreshBooksClient(conn, audit=AuditContext(tenant=tenant, connection=conn, actor=actor))
    me = client.me()
    choices = businesses(me)
    if not choices:
        services.note_error(conn, "This FreshBooks login has no business to connect.")
        return _done(request, conn, error="This FreshBooks login has no business ml-connector can connect to.")
    if reconnect is not None:
        account = reconnect.config.get("account_id")
        if account and account not in {c["account_id"] for c in choices}:
            services.mark_needs_reconnect(conn, "You signed in to a different FreshBooks account.")
            return _done(
                request,
                conn,
                error="That FreshBooks login cannot see the connected business. Sign in as a user of that business.",
            )
        services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason="reconnected")
        return _done(request, conn)
    if len(choices) == 1:
        choose_account(conn, choices[0]["id"], actor=actor, choices=choices)
        return _done(request, conn)
    services.update_config(conn, {"choices": choices}, actor=actor, message="several businesses: waiting for a choice")
    return redirect(reverse("connection-choose", args=[conn.pk]))


def choose_account(conn: Connection, choice_id: str, *, actor, choices: list[dict] | None = None) -> Connection:
    choices = choices if choices is not None else conn.config.get("choices") or []
    chosen = next((c for c in choices if c["id"] == choice_id), None)
    if chosen is None:
        raise ValueError("That business is not one of the choices.")
    existing = (
        Connection.objects.for_tenant(conn.tenant_id)
        .filter(provider=PROVIDER, external_account_id=chosen["account_id"])
        .exclude(pk=conn.pk)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    if existing is not None:
        # Connecting the same business twice would double every event: reuse the connection.
        services.store_credentials(
            existing,
            conn.secrets(),
            expires_at=conn.token_expires_at,
            actor=actor,
            message="reconnected: new FreshBooks tokens",
        )
        services.set_status(
            conn, Connection.Status.DISCONNECTED, actor=actor, reason="merged into an existing connection"
        )
        conn = existing
    services.update_config(
        conn,
        {
            "account_id": chosen["account_id"],
            "business_uuid": chosen["business_uuid"],
            "business_id": chosen["business_id"],
            "business_name": chosen["name"],
            "choices": [],
        },
        actor=actor,
        message=f"business chosen: {chosen['name']}",
    )
    Connection.objects.filter(pk=conn.pk).update(external_account_id=chosen["account_id"], name=chosen["name"])
    conn.external_account_id, conn.name = chosen["account_id"], chosen["name"]
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to {chosen['name']}")
    return conn


def _done(request, conn: Connection, error: str = ""):
    from django.contrib import messages

    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"FreshBooks connected: {conn.name}. Webhooks are being registered.")
    return redirect("home")
