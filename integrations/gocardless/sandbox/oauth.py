"""The fake GoCardless's partner OAuth (vendors doc §2.2) at /sandbox/gocardless/connect/: a consent
page listing the sandbox environment's organisations, and the token endpoint. Codes are single-use
and remember their redirect_uri; the access token never expires and has no refresh token."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from integrations.gocardless.sandbox.pages import issue_token
from integrations.gocardless.sandbox.state import PROVIDER, organisation, organisations
from integrations.sandbox import tokens
from integrations.sandbox.http import body_params, client_credentials

CODE_TTL = 5 * 60


def _back(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{redirect_uri}?{urlencode(params)}")


@csrf_exempt
def authorize(request) -> HttpResponse:
    q = request.GET
    app = tokens.app_for(PROVIDER, q.get("client_id"))
    redirect_uri = q.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if (
        app is None
        or parts.scheme not in ("http", "https")
        or (app.redirect_uris and redirect_uri not in app.redirect_uris)
    ):
        return render(
            request, "sandbox/gocardless/authorize.html", {"error": "Unknown application or redirect URI."}, status=400
        )
    state = q.get("state", "")
    if q.get("response_type") != "code":
        return _back(redirect_uri, error="unsupported_response_type", state=state)
    orgs = [o for o in organisations() if o.data.get("environment") == "sandbox"]
    if request.method == "POST":
        if request.POST.get("decision") != "allow":
            return _back(redirect_uri, error="access_denied", state=state)
        org = organisation(request.POST.get("organisation", ""))
        if org is not None:
            code = tokens.issue(
                PROVIDER,
                "code",
                account=org,
                app=app,
                ttl=CODE_TTL,
                scopes=q.get("scope", "read_write"),
                data={"redirect_uri": redirect_uri},
            )
            return _back(redirect_uri, code=code, state=state)
    return render(request, "sandbox/gocardless/authorize.html", {"app": app, "orgs": orgs})


@csrf_exempt
def access_token(request) -> HttpResponse:
    def error(status: int, code: str, description: str) -> HttpResponse:
        return HttpResponse(
            json.dumps({"error": code, "error_description": description}),
            status=status,
            content_type="application/json",
        )

    if request.method != "POST":
        return error(405, "invalid_request", "Use POST.")
    params = body_params(request)
    app = tokens.authenticate_app(PROVIDER, *client_credentials(request, params))
    if app is None:
        return error(401, "invalid_client", "Client authentication failed.")
    if params.get("grant_type") != "authorization_code":
        return error(400, "unsupported_grant_type", "grant_type must be authorization_code.")
    raw = params.get("code")
    code = tokens.find(PROVIDER, "code", raw)
    if code is None or code.app_id != app.pk or tokens.use_once(PROVIDER, "code", raw) is None:
        return error(400, "invalid_grant", "The authorization code is invalid, expired or already used.")
    if params.get("redirect_uri") != code.data.get("redirect_uri"):
        return error(400, "invalid_grant", "redirect_uri does not match the authorization request.")
    org = code.account
    body = {
        "access_token": issue_token(org),
        "token_type": "bearer",
        "scope": code.scopes or "read_write",
        "organisation_id": org.key,
        "email": "owner@demo-books.example",
    }
    return HttpResponse(json.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"})
