"""The HubSpot sandbox's portal, private app tokens, error bodies and id allocation.

One portal (hub) is seeded; a test or the console can add others (another hub's token is how
"a token for another hub" is tried). Its settings live in the account row's data: time zone (the
daily limit resets at midnight there), the burst and daily limits, and whether invoice writes are
accepted (`invoices`: "enabled", "missing_scope" or "not_enabled").
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import connection as db
from django.utils import timezone

from integrations.sandbox import tokens
from integrations.sandbox.http import json_response
from integrations.sandbox.models import SandboxAccount, SandboxToken

PROVIDER = "hubspot"
DEMO_HUB_ID = 24681357
DEMO_NAME = "Demo Books Sales"
# Private app tokens look like pat-<region>-<uuid> (vendors doc §2.1; exact format UNCONFIRMED).
TOKEN_PREFIX = "pat-na1-"
# Scopes a private app is given by default; `crm.objects.invoices.write` is what invoice writes need.
DEFAULT_SCOPES = (
    "crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read crm.objects.companies.write"
    " crm.objects.invoices.read crm.objects.invoices.write crm.objects.line_items.read"
    " crm.objects.line_items.write crm.objects.commercepayments.read crm.objects.commercepayments.write"
    " crm.schemas.contacts.write crm.schemas.companies.write crm.schemas.invoices.write"
    " crm.schemas.line_items.write crm.schemas.commercepayments.write"
)
DEFAULTS = {
    "time_zone": "America/New_York",
    "currency": "USD",
    "burst_limit": 190,  # Professional: 190 per 10 s (vendors doc §2.7)
    "interval_ms": 10_000,
    "daily_limit": 625_000,
    "search_per_second": 4,
    "invoices": "enabled",
    # A public app (OAuth): 110 requests per 10 s per installed account, no daily limit (vendors doc §2.7);
    # access tokens last 30 minutes; refresh tokens are long-lived and answered back unchanged unless
    # rotation is on (a new one per refresh, the spent one refused: stricter than HubSpot is reported to be).
    "oauth_burst_limit": 110,
    "oauth_access_ttl": 1800,
    "oauth_rotate_refresh": False,
    # Whether the consent grants the optional scopes (invoices, line items) the app asks for.
    "oauth_grant_optional": True,
}
INVOICE_MODES = {
    "enabled": "Invoice writes accepted",
    "missing_scope": "403 MISSING_SCOPES (the app lacks crm.objects.invoices.write)",
    "not_enabled": "400 (invoices are not enabled for this portal)",
}


class HubSpotError(Exception):
    """An error answer in HubSpot's shape (every field optional for clients, vendors doc §2.8)."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str = "VALIDATION_ERROR",
        *,
        errors: list[dict] | None = None,
        context: dict | None = None,
        sub_category: str = "",
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.category = status, message, category
        self.errors, self.context, self.sub_category = errors or [], context or {}, sub_category
        self.headers, self.extra = headers or {}, extra or {}

    def body(self) -> dict[str, Any]:
        body = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.errors:
            body["errors"] = self.errors
        if self.context:
            body["context"] = self.context
        body.update(self.extra)
        return body

    def standard(self, trace: str | None = None) -> dict[str, Any]:
        """The same error as one item of a 207 multi-status (StandardError)."""
        context = dict(self.context)
        if trace:
            context["objectWriteTraceId"] = [trace]
        item = {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": context,
            "errors": self.errors,
            "links": {},
        }
        if self.sub_category:
            item["subCategory"] = self.sub_category
        return item

    def response(self):
        return json_response(self.body(), status=self.status, headers=self.headers)


def portal(hub_id: int | str = DEMO_HUB_ID, name: str = DEMO_NAME, **settings) -> SandboxAccount:
    account, created = SandboxAccount.objects.get_or_create(
        provider=PROVIDER, key=str(hub_id), defaults={"name": name, "data": {**DEFAULTS, **settings}}
    )
    if not created and settings:
        account.data.update(settings)
        account.save(update_fields=["data"])
    return account


def setting(account: SandboxAccount, name: str):
    return (account.data or {}).get(name, DEFAULTS[name])


def change(account: SandboxAccount, **values) -> None:
    account.refresh_from_db()
    account.data = {**(account.data or {}), **values}
    account.save(update_fields=["data"])


def issue_token(account: SandboxAccount | None = None, scopes: str = DEFAULT_SCOPES, name: str = "ml-connector") -> str:
    """A private app access token for the portal (shown once, stored as a hash)."""
    account = account or portal()
    raw = TOKEN_PREFIX + str(uuid.UUID(bytes=secrets.token_bytes(16)))
    SandboxToken.objects.create(
        provider=PROVIDER,
        kind=SandboxToken.Kind.ACCESS,
        token_hash=tokens.hash_secret(raw),
        account=account,
        scopes=scopes,
        data={"kind": "private_app", "name": name, "last4": raw[-4:]},
    )
    return raw


def authenticate(raw: str | None) -> SandboxToken:
    if not raw:
        raise HubSpotError(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
            "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
            headers={"x-hubspot-auth-failure": "401 Unauthorized"},
        )
    token = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, raw)
    if token is None:
        expired = SandboxToken.objects.filter(
            provider=PROVIDER,
            kind=SandboxToken.Kind.ACCESS,
            token_hash=tokens.hash_secret(raw),
            revoked_at=None,
            expires_at__lte=timezone.now(),
        ).first()
        if expired is not None:  # an OAuth access token past its 30 minutes (vendors doc §2.8)
            ago = max(1, int((timezone.now() - expired.expires_at).total_seconds()))
            raise HubSpotError(
                401,
                f"The OAuth token used to make this call expired {ago} second(s) ago.",
                "EXPIRED_AUTHENTICATION",
                context={"expire time": [expired.expires_at.isoformat()]},
                headers={"x-hubspot-auth-failure": "401 Unauthorized"},
            )
        raise HubSpotError(
            401,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
            "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            "INVALID_AUTHENTICATION",
            headers={"x-hubspot-auth-failure": "401 Unauthorized"},
        )
    return token


def require_scope(token: SandboxToken, scope: str) -> None:
    if scope and scope not in token.scopes.split():
        raise HubSpotError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
            "here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {"message": "One or more of the following scopes are required.", "context": {"requiredScopes": [scope]}}
            ],
            context={"missingScopes": [scope]},
            extra={"links": {"scopes": "https://developers.hubspot.com/scopes"}},
        )


def allocate_ids(count: int) -> list[str]:
    """`count` new object ids, unique across every process (one atomic UPDATE)."""
    if count <= 0:
        return []
    key = "hubspot:ids"
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO sandbox_sandboxcounter (key, value, window_start) VALUES (%s, 0, 0) "
            "ON CONFLICT (key) DO NOTHING",
            [key],
        )
        cur.execute("UPDATE sandbox_sandboxcounter SET value = value + %s WHERE key = %s RETURNING value", [count, key])
        last = int(cur.fetchone()[0])
    base = 10_000_000_000
    return [str(base + n) for n in range(last - count + 1, last + 1)]
