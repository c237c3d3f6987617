"""The client-credentials target's fake: a token endpoint (grant_type=client_credentials, no refresh
token, no expiry given, like Salesforce) and one protected endpoint answering 401 INVALID_SESSION_ID
for a token it does not know or has revoked."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt

from integrations.sandbox import tokens
from integrations.sandbox.http import bearer_token, body_params, client_credentials, json_response
from integrations.sandbox.models import SandboxToken

PROVIDER = "testcc"
CLIENT_ID = "cc-consumer-key-0001"
CLIENT_SECRET = "cc-consumer-secret-not-real-0001"


def seed() -> None:
    tokens.ensure_app(PROVIDER, CLIENT_ID, CLIENT_SECRET)


@csrf_exempt
def token(request):
    params = body_params(request)
    if params.get("grant_type") != "client_credentials":
        return json_response({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
    client_id, secret = client_credentials(request, params)
    app = tokens.authenticate_app(PROVIDER, client_id, secret)
    if app is None:
        return json_response({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
    raw = tokens.issue(PROVIDER, SandboxToken.Kind.ACCESS, app=app, prefix="00Dcc!")
    return json_response(
        {"access_token": raw, "instance_url": "https://cc.example.test", "token_type": "Bearer", "issued_at": "1"}
    )


def ping(request):
    live = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, bearer_token(request))
    if live is None:
        return json_response([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)
    return json_response({"who": f"token-{live.pk}"})


def issued() -> int:
    return SandboxToken.objects.filter(provider=PROVIDER, kind=SandboxToken.Kind.ACCESS).count()


def revoke_all() -> None:
    from django.utils import timezone

    SandboxToken.objects.filter(provider=PROVIDER).update(revoked_at=timezone.now())
