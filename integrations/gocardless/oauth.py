"""Connecting GoCardless through partner OAuth (vendors doc §2.2), when the server has a GoCardless
partner app (GOCARDLESS_CLIENT_ID / _SECRET) in one environment (GOCARDLESS_OAUTH_ENVIRONMENT).

Authorize on connect(-sandbox).gocardless.com with `scope=read_write`, exchange the code at
`/oauth/access_token`; the answer carries the access token and the merchant's `organisation_id`.
The token has no refresh token and no expiry: it lasts until revoked (then: reconnect). The
creditor is read with it before anything is stored, exactly as with a pasted token.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from mlconnector.connections.oauth import OAuthSpec
from mlconnector.http import AuditContext, ProviderError

PROVIDER = "gocardless"


def spec() -> OAuthSpec:
    return OAuthSpec(
        provider=PROVIDER,
        authorize_url=f"{settings.GOCARDLESS_CONNECT_URL}/oauth/authorize",
        token_url=f"{settings.GOCARDLESS_CONNECT_URL}/oauth/access_token",
        client_id=settings.GOCARDLESS_CLIENT_ID,
        client_secret=settings.GOCARDLESS_CLIENT_SECRET,
        scopes=["read_write"],
        authorize_params={"initial_view": "login"},
    )


def complete_oauth(request, *, tenant, token: dict, reconnect):
    from integrations.gocardless.views import _store, check_token, other_collector

    env = settings.GOCARDLESS_OAUTH_ENVIRONMENT
    access = str(token.get("access_token") or "")
    try:
        creditor = check_token(access, env, AuditContext(tenant=tenant, connection=reconnect, actor=request.user))
    except ProviderError as exc:
        messages.error(request, f"GoCardless sign-in worked, but the account could not be read: {exc.message}")
        return redirect("home")
    other = other_collector(tenant, creditor, reconnect)
    if other:
        messages.error(request, other)
        return redirect("home")
    conn = _store(tenant, reconnect, access, env, creditor, request.user)
    if token.get("organisation_id"):
        from mlconnector.connections import services

        services.update_config(conn, {"organisation_id": str(token["organisation_id"])}, actor=request.user)
    messages.success(
        request,
        f"GoCardless connected: {conn.name} ({env}). Next, paste this page's webhook URL into GoCardless and its "
        "endpoint secret here.",
    )
    return redirect("gocardless-settings", conn.pk)
