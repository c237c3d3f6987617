"""The HubSpot sandbox's public app OAuth (vendors doc §2.1): the consent page and the token endpoint.

- GET oauth/authorize?client_id&scope&redirect_uri[&optional_scope][&state] (app.hubspot.com's page):
  the app, the hub to install it in, and the scopes; POST decision=allow redirects back with
  code+state, decision=deny with error=access_denied (HubSpot's exact deny answer is UNCONFIRMED: the
  RFC 6749 one). Required scopes the app may not ask for, an unknown client_id or a bad redirect_uri
  stop on an error page here, as HubSpot does, instead of going back.
- POST api/oauth/{v1,v3,2026-03,2026-09}/token, form-encoded, client_id and client_secret in the body;
  grant_type authorization_code (code + redirect_uri, the code single-use for 10 minutes) or
  refresh_token. The body is checked against the request schema of HubSpot's published oauth.json
  (TOKEN_FORM). The answer: {access_token, refresh_token, expires_in (the portal's oauth_access_ttl,
  1800), token_type "bearer", hub_id, scopes, token_use, user_id}. Refresh tokens stay valid and are
  answered back unchanged, unless the portal's `oauth_rotate_refresh` is on: then each refresh gives a
  new one and the spent one is refused.
- Errors: v1 answers HubSpot's legacy shape, {"status": "BAD_REFRESH_TOKEN", "message", "correlationId"}
  with a 400 (seen in HubSpot's issue trackers); the date-versioned paths add RFC 6749's
  `error` / `error_description` (UNCONFIRMED beyond "the standardized body keeps error and status").
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from jsonschema import Draft7Validator

from integrations.hubspot.sandbox import limits
from integrations.hubspot.sandbox.state import DEFAULT_SCOPES, PROVIDER, portal, setting
from integrations.sandbox import tokens
from integrations.sandbox.http import body_params, json_response
from integrations.sandbox.models import SandboxAccount, SandboxApp, SandboxToken

CODE_TTL = 10 * 60
VERSIONS = ("v1", "v3", "2026-03", "2026-09")
ACCESS_PREFIX = "oauth-na1-"  # real OAuth access tokens are opaque (~300 chars max); never "pat-"
SANDBOX_USER_ID = 7654321
# The form body HubSpot documents for POST /oauth/v1/token (PublicApiSpecs/Auth/Oauth/Rollouts/155908/v1/
# oauth.json) and /oauth/2026-03/token (…/279897/2026-03/oauth.json, which adds the JWT-bearer fields):
# every field a string, none required by the schema, grant_type one of the listed values.
_STRING = {"type": "string"}
TOKEN_FORM = {
    "v1": {
        "type": "object",
        "properties": {
            **{f: _STRING for f in ("client_id", "client_secret", "code", "code_verifier", "redirect_uri")},
            **{f: _STRING for f in ("refresh_token", "scope")},
            "grant_type": {"type": "string", "enum": ["authorization_code", "client_credentials", "refresh_token"]},
        },
    },
}
TOKEN_FORM["versioned"] = {
    "type": "object",
    "properties": {
        **TOKEN_FORM["v1"]["properties"],
        **{f: _STRING for f in ("assertion", "client_assertion", "client_assertion_type")},
        "grant_type": {
            "type": "string",
            "enum": [
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ],
        },
    },
}
# What the spec's AccessTokenResponse requires of a 200 (the tests check the answers against it).
TOKEN_ANSWER = {
    "type": "object",
    "required": ["access_token", "expires_in", "refresh_token", "token_type", "token_use"],
    "properties": {
        "access_token": _STRING,
        "refresh_token": _STRING,
        "token_type": _STRING,
        "id_token": _STRING,
        "expires_in": {"type": "integer"},
        "hub_id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "scopes": {"type": "array", "items": _STRING},
        "token_use": {"type": "string", "enum": ["access_token"]},
    },
}
# v1's legacy error codes (status) and their RFC 6749 names for the versioned endpoints.
RFC = {
    "BAD_CLIENT_ID": "invalid_client",
    "BAD_CLIENT_SECRET": "invalid_client",
    "BAD_AUTH_CODE": "invalid_grant",
    "BAD_REDIRECT_URI": "invalid_grant",
    "BAD_REFRESH_TOKEN": "invalid_grant",
    "BAD_GRANT_TYPE": "unsupported_grant_type",
    "INVALID_REQUEST": "invalid_request",
}


def public_app() -> SandboxApp | None:
    """The app the server is configured with (settings.HUBSPOT_CLIENT_ID), registered on first use."""
    if not (settings.HUBSPOT_CLIENT_ID and settings.HUBSPOT_CLIENT_SECRET):
        return None
    app = tokens.app_for(PROVIDER, settings.HUBSPOT_CLIENT_ID)
    if app is None:
        app = tokens.ensure_app(
            PROVIDER, settings.HUBSPOT_CLIENT_ID, settings.HUBSPOT_CLIENT_SECRET, name="ml-connector (public app)"
        )
    return app


def _page_error(request, message: str) -> HttpResponse:
    return render(request, "sandbox/hubspot/authorize_error.html", {"message": message}, status=400)


def _back(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return HttpResponseRedirect(redirect_uri + joiner + urlencode({k: v for k, v in params.items() if v}))


def authorize(request) -> HttpResponse:
    """GET: the consent page; POST (same URL and query string): decision=allow or deny, and the hub."""
    portal()
    public_app()
    q = request.GET
    app = tokens.app_for(PROVIDER, q.get("client_id"))
    redirect_uri = q.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if app is None:
        return _page_error(request, "This app does not exist (unknown client_id).")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return _page_error(request, "redirect_uri must be an absolute http(s) URL.")
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        return _page_error(request, "redirect_uri does not match the app's redirect URLs.")
    known = set(DEFAULT_SCOPES.split()) | {"oauth"}
    required = q.get("scope", "").split()
    optional = q.get("optional_scope", "").split()
    if not required:
        return _page_error(request, "The scope parameter is missing: an app must ask for at least one scope.")
    unknown = [s for s in required + optional if s not in known]
    if unknown:
        return _page_error(request, "Scope mismatch: this app is not set up for " + ", ".join(unknown) + ".")
    hubs = list(SandboxAccount.objects.filter(provider=PROVIDER).order_by("pk"))
    state = q.get("state", "")
    if request.method == "POST":
        if request.POST.get("decision") != "allow":
            return _back(redirect_uri, error="access_denied", error_description="The user denied access", state=state)
        account = next((h for h in hubs if h.key == request.POST.get("hub")), None) or portal()
        granted = required + (optional if setting(account, "oauth_grant_optional") else [])
        code = tokens.issue(
            PROVIDER,
            SandboxToken.Kind.CODE,
            account=account,
            app=app,
            ttl=CODE_TTL,
            scopes=" ".join(dict.fromkeys(granted)),
            data={"redirect_uri": redirect_uri},
        )
        return _back(redirect_uri, code=code, state=state)
    context = {
        "app": app,
        "hubs": hubs,
        "required": required,
        "optional": optional,
        "redirect_uri": redirect_uri,
    }
    return render(request, "sandbox/hubspot/authorize.html", context)


def _error(version: str, status: int, code: str, message: str) -> HttpResponse:
    body = {"status": code, "message": message, "correlationId": str(uuid.uuid4())}
    if version != "v1":
        body.update(error=RFC.get(code, "invalid_request"), error_description=message, category=code)
    limits.count("oauth_refused")
    return json_response(body, status, {"Cache-Control": "no-store"})


def _issue(account: SandboxAccount, app: SandboxApp, scopes: str, refresh: str | None) -> dict:
    ttl = int(setting(account, "oauth_access_ttl"))
    access = tokens.issue(
        PROVIDER, SandboxToken.Kind.ACCESS, account=account, app=app, ttl=ttl, scopes=scopes, prefix=ACCESS_PREFIX
    )
    SandboxToken.objects.filter(token_hash=tokens.hash_secret(access)).update(
        data={"kind": "oauth", "name": app.name, "last4": access[-4:]}
    )
    if refresh is None:
        refresh = tokens.issue(PROVIDER, SandboxToken.Kind.REFRESH, account=account, app=app, scopes=scopes)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ttl,
        "token_type": "bearer",
        "hub_id": int(account.key),
        "user_id": SANDBOX_USER_ID,
        "scopes": scopes.split(),
        "token_use": "access_token",
    }


def token(request, version: str) -> HttpResponse:
    """POST /oauth/<version>/token (called from api.api, which applied the injected faults first)."""
    if request.method != "POST":
        return json_response({"status": "error", "message": f"{request.method} is not allowed"}, 405)
    if version not in VERSIONS:
        return json_response({"status": "error", "message": f"No route for POST /oauth/{version}/token"}, 404)
    params = body_params(request)
    form = TOKEN_FORM["v1" if version == "v1" else "versioned"]
    problems = sorted(Draft7Validator(form).iter_errors(params), key=lambda e: list(e.absolute_path))
    if problems:
        where = ".".join(str(p) for p in problems[0].absolute_path) or "body"
        return _error(version, 400, "INVALID_REQUEST", f"{where}: {problems[0].message}")
    public_app()
    app = tokens.app_for(PROVIDER, params.get("client_id"))
    if app is None:
        return _error(version, 400, "BAD_CLIENT_ID", "missing or unknown client id")
    if tokens.authenticate_app(PROVIDER, params.get("client_id"), params.get("client_secret")) is None:
        return _error(version, 400, "BAD_CLIENT_SECRET", "missing or invalid client secret")
    grant = params.get("grant_type") or ""
    if grant == "authorization_code":
        raw = params.get("code")
        code = tokens.find(PROVIDER, SandboxToken.Kind.CODE, raw)
        if code is None or code.app_id != app.pk or tokens.use_once(PROVIDER, SandboxToken.Kind.CODE, raw) is None:
            return _error(version, 400, "BAD_AUTH_CODE", "missing or unknown auth code")
        if params.get("redirect_uri") != code.data.get("redirect_uri"):
            return _error(version, 400, "BAD_REDIRECT_URI", "redirect_uri does not match the authorization request")
        limits.count("oauth_code_exchanges")
        body = _issue(code.account, app, code.scopes, None)
    elif grant == "refresh_token":
        raw = params.get("refresh_token")
        old = tokens.find(PROVIDER, SandboxToken.Kind.REFRESH, raw)
        if old is None or old.app_id != app.pk or old.used_at is not None:
            return _error(version, 400, "BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        rotate = bool(setting(old.account, "oauth_rotate_refresh"))
        if rotate and tokens.use_once(PROVIDER, SandboxToken.Kind.REFRESH, raw) is None:
            return _error(version, 400, "BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        limits.count("oauth_refreshes")
        body = _issue(old.account, app, old.scopes, None if rotate else raw)
    else:
        return _error(version, 400, "BAD_GRANT_TYPE", f"grant_type {grant!r} is not supported here")
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def revoke_app(account: SandboxAccount | None = None) -> int:
    """The app is uninstalled from the hub: every OAuth token of it (access and refresh) stops working."""
    account = account or portal()
    return SandboxToken.objects.filter(
        provider=PROVIDER,
        account=account,
        app__isnull=False,
        kind__in=[SandboxToken.Kind.ACCESS, SandboxToken.Kind.REFRESH],
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())


def expire_access_tokens(account: SandboxAccount | None = None) -> int:
    """Every live OAuth access token of the hub expires now (as if its 30 minutes were up)."""
    account = account or portal()
    now = timezone.now()
    return SandboxToken.objects.filter(
        provider=PROVIDER,
        account=account,
        kind=SandboxToken.Kind.ACCESS,
        app__isnull=False,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(expires_at=now)
