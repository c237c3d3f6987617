"""Helpers for FreshBooks tests: a connection with verified callbacks, and independently signed bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

from integrations.freshbooks.models import FreshBooksCallback
from tests.factories import ConnectionFactory

VERIFIER = "test-verifier-not-a-secret-7f3a9"


def connection_with_callbacks(tenant=None, events=("invoice.create", "invoice.update", "payment.create"), **kwargs):
    extra = {"tenant": tenant} if tenant is not None else {}
    conn = ConnectionFactory(provider="freshbooks", **extra, **kwargs)
    for n, event in enumerate(events, start=1):
        FreshBooksCallback.objects.create(
            tenant=conn.tenant, connection=conn, callback_id=str(900 + n), event=event, verifier=VERIFIER, verified=True
        )
    return conn


def webhook_body(name="invoice.create", object_id="1234567", account_id="ACC1", **extra) -> bytes:
    fields = {
        "name": name,
        "object_id": object_id,
        "account_id": account_id,
        "business_id": "6543",
        "identity_id": "1234",
        "user_id": "1",
        **extra,
    }
    return urlencode(fields).encode()


def sign(body: bytes, verifier: str = VERIFIER) -> str:
    message = json.dumps(dict(parse_qsl(body.decode())))
    return base64.b64encode(hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()).decode()


def post_webhook(client, conn, body: bytes, signature: str | None = None, **headers):
    if signature is None:
        signature = sign(body)
    return client.post(
        f"/hooks/freshbooks/{conn.endpoint_key}/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_FRESHBOOKS_HMAC_SHA256=signature,
        **headers,
    )


def sandbox_source(tenant, account_id: str = "DEMO01", businesses: int = 1):
    """A FreshBooks connection holding real tokens issued by the sandbox for its demo business."""
    from django.conf import settings

    from integrations.freshbooks.sandbox import seed_demo
    from integrations.freshbooks.sandbox.state import PROVIDER, issue_tokens
    from integrations.sandbox import tokens

    demo = seed_demo(businesses=businesses)
    app = tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID)
    issued = issue_tokens(demo.identity, app, " ".join(settings.FRESHBOOKS_SCOPES))
    return ConnectionFactory(
        tenant=tenant,
        provider="freshbooks",
        name="Demo Books Ltd",
        credentials={"access_token": issued["access_token"], "refresh_token": issued["refresh_token"]},
        config={"account_id": account_id, "business_name": "Demo Books Ltd"},
        external_account_id=account_id,
    )
