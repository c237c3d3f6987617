"""The Monday sandbox's OAuth (vendors note §1.8): consent page and token endpoint on the "auth" host.

Legacy flow (the default): GET auth/oauth2/authorize?client_id&redirect_uri&state[&scope] shows a
consent page with Authorize / Cancel buttons; Authorize redirects with code+state, Cancel with
error=access_denied. POST auth/oauth2/token (JSON or form: client_id, client_secret, code,
redirect_uri) answers {access_token, token_type: "Bearer", scope}; tokens never expire.
settings.SANDBOX_MONDAY_OAUTH_REFRESH = True emulates the opt-in OAuth 2.1 flow: expires_in
(settings.SANDBOX_MONDAY_ACCESS_TTL, default 3600) and a single-use refresh_token, accepted with
grant_type=refresh_token. Errors: {"error", "error_description"} with HTTP 400 (invalid_grant,
invalid_scope, invalid_request) or 401 (invalid_client).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from integrations.monday.sandbox.boards import PROVIDER, ensure_account
from integrations.sandbox import faults, tokens
from integrations.sandbox.http import body_params, client_credentials, json_response
from integrations.sandbox.models import SandboxToken

CODE_TTL = 10 * 60
# Scopes monday documents (confirmed list start) plus those seen in use (vendors note §1.8).
KNOWN_SCOPES = {
    "account:read": "Read your account's information",
    "assets:read": "Read files",
    "boards:read": "Read boards, items and column values",
    "boards:write": "Create items and change column values",
    "docs:read": "Read docs",
    "docs:write": "Change docs",
    "me:read": "Read your profile",
    "notifications:write": "Send notifications",
    "tags:read": "Read tags",
    "teams:read": "Read teams",
    "updates:read": "Read updates",
    "updates:write": "Post updates",
    "users:read": "Read users",
    "webhooks:read": "Read webhooks",
    "webhooks:write": "Create webhooks",
    "workspaces:read": "Read workspaces",
    "workspaces:write": "Change workspaces",
}


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    return json_response({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


def _back(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{redirect_uri}?{urlencode({k: v for k, v in params.items() if v})}")


def authorize(request) -> HttpResponse:
    """GET: the consent page; POST (same URL and query string): decision=authorize or cancel."""
    ensure_account()
    q = request.GET
    app = tokens.app_for(PROVIDER, q.get("client_id"))
    redirect_uri = q.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if app is None:
        return _page_error(request, "This app is not installed on the sandbox account (unknown client_id).")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return _page_error(request, "redirect_uri must be an absolute http(s) URL.")
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        return _page_error(request, "redirect_uri does not match the app's registered redirect URLs.")
    scopes = q.get("scope", "").split() or list(settings.MONDAY_SCOPES)
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        return _oauth_error(400, "invalid_scope", "Invalid scope param")  # 3P shape (vendors note §1.8)
    state = q.get("state", "")
    if request.method == "POST":
        if request.POST.get("decision") == "authorize":
            code = tokens.issue(
                PROVIDER,
                SandboxToken.Kind.CODE,
                account=ensure_account(),
                app=app,
                ttl=CODE_TTL,
                scopes=" ".join(scopes),
                data={"redirect_uri": redirect_uri},
            )
            return _back(redirect_uri, code=code, state=state)
        return _back(redirect_uri, error="access_denied", error_description="The user denied access", state=state)
    context = {
        "app": app,
        "account": ensure_account(),
        "scopes": [(s, KNOWN_SCOPES[s]) for s in scopes],
        "redirect_uri": redirect_uri,
    }
    return render(request, "sandbox/monday/authorize.html", context)


def _page_error(request, message: str) -> HttpResponse:
    return render(request, "sandbox/monday/authorize_error.html", {"message": message}, status=400)


def _issue(account, app, scopes: str) -> dict:
    refresh = getattr(settings, "SANDBOX_MONDAY_OAUTH_REFRESH", False)
    ttl = int(getattr(settings, "SANDBOX_MONDAY_ACCESS_TTL", 3600)) if refresh else None
    access = tokens.issue(PROVIDER, SandboxToken.Kind.ACCESS, account=account, app=app, ttl=ttl, scopes=scopes)
    SandboxToken.objects.filter(token_hash=tokens.hash_secret(access)).update(
        data={"kind": "oauth", "last4": access[-4:]}
    )
    body = {"access_token": access, "token_type": "Bearer", "scope": scopes}
    if refresh:
        kind = SandboxToken.Kind.REFRESH
        body["refresh_token"] = tokens.issue(PROVIDER, kind, account=account, app=app, scopes=scopes)
        body["expires_in"] = ttl
    return body


@csrf_exempt
def token(request) -> HttpResponse:
    injected = faults.inject(PROVIDER, request)
    if injected is not None:
        return injected
    if request.method != "POST":
        return _oauth_error(400, "invalid_request", "Use POST.")
    ensure_account()
    params = body_params(request)
    app = tokens.authenticate_app(PROVIDER, *client_credentials(request, params))
    if app is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed: unknown client_id or wrong secret")
    grant = params.get("grant_type") or "authorization_code"  # the legacy flow sends no grant_type
    if grant == "authorization_code":
        raw = params.get("code")
        code = tokens.find(PROVIDER, SandboxToken.Kind.CODE, raw)
        if code is None or code.app_id != app.pk or tokens.use_once(PROVIDER, SandboxToken.Kind.CODE, raw) is None:
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid, expired or already used")
        if params.get("redirect_uri") != code.data.get("redirect_uri"):
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        account, scopes = code.account, code.scopes
    elif grant == "refresh_token" and getattr(settings, "SANDBOX_MONDAY_OAUTH_REFRESH", False):
        raw = params.get("refresh_token")
        old = tokens.find(PROVIDER, SandboxToken.Kind.REFRESH, raw)
        if old is None or old.app_id != app.pk or tokens.use_once(PROVIDER, SandboxToken.Kind.REFRESH, raw) is None:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid, revoked or already used")
        account, scopes = old.account, old.scopes
    else:
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    return json_response(_issue(account, app, scopes), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})
