"""The fake GoCardless's state: organisations (one per environment), their records, events and
webhooks, kept as the shared sandbox tables (SandboxAccount, SandboxObject) so web and worker agree.

Ids look like GoCardless's (two-letter prefix + 12 characters); times are ISO with milliseconds
and "Z"; amounts are integer minor units. Every change that GoCardless would announce makes an
event; `flush()` sends the ones not yet delivered to the organisation's webhook endpoint, at most
250 per body, signed with the endpoint's secret (lowercase hex HMAC-SHA256 of the raw body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from integrations.sandbox.models import SandboxAccount, SandboxObject

PROVIDER = "gocardless"
ENVIRONMENTS = ("sandbox", "live")
API_VERSION = "2015-07-06"
MAX_EVENTS_PER_WEBHOOK = 250
WEBHOOK_USER_AGENT = "gocardless-webhook-service/1.1"
ORIGINS = {"live": "https://api.gocardless.com", "sandbox": "https://api-sandbox.gocardless.com"}
PREFIXES = {
    "creditor": "CR",
    "customer": "CU",
    "customer_bank_account": "BA",
    "mandate": "MD",
    "payment": "PM",
    "payout": "PO",
    "billing_request": "BRQ",
    "subscription": "SB",
    "billing_request_flow": "BRF",
    "event": "EV",
    "webhook": "WB",
}
# The resource name in paths and envelopes (plural) -> the kind stored.
RESOURCES = {
    "creditors": "creditor",
    "customers": "customer",
    "customer_bank_accounts": "customer_bank_account",
    "mandates": "mandate",
    "payments": "payment",
    "payouts": "payout",
    "payout_items": "payout_item",
    "billing_requests": "billing_request",
    "subscriptions": "subscription",
    "billing_request_flows": "billing_request_flow",
    "events": "event",
}
SCHEMES = {
    "USD": "ach",
    "GBP": "bacs",
    "EUR": "sepa_core",
    "AUD": "becs",
    "NZD": "becs_nz",
    "CAD": "pad",
    "SEK": "autogiro",
    "DKK": "betalingsservice",
}
CURRENCIES = frozenset(SCHEMES)


class ApiError(Exception):
    """A GoCardless error envelope (vendors doc §2.5; ../shared/specs/gocardless/*_error.json)."""

    def __init__(self, status: int, type_: str, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.errors = status, type_, message, errors or []

    def body(self) -> dict:
        anchor = (self.errors[0].get("reason") if self.errors else "") or self.type
        return {
            "error": {
                "code": self.status,
                "type": self.type,
                "message": self.message,
                "documentation_url": f"https://developer.gocardless.com/api-reference#{anchor}",
                "request_id": secrets.token_hex(8),
                "errors": self.errors or [{"reason": self.type, "message": self.message}],
            }
        }


def invalid(field: str, message: str, resource: str) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        "Validation failed",
        [{"field": field, "message": message, "request_pointer": f"/{resource}/{field}"}],
    )


def invalid_state(reason: str, message: str) -> ApiError:
    return ApiError(422, "invalid_state", message, [{"reason": reason, "message": message}])


def not_found(resource: str, object_id: str) -> ApiError:
    return ApiError(
        404,
        "invalid_api_usage",
        "Resource not found",
        [{"reason": "resource_not_found", "message": f"Resource not found: {resource} {object_id}"}],
    )


# --- time, ids ------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def today() -> date:
    return datetime.now(UTC).date()


def new_id(account: SandboxAccount, kind: str) -> str:
    prefix = PREFIXES[kind]
    # Unique across organisations (GoCardless ids are global): the row count plus randomness.
    return prefix + secrets.token_hex(6).upper()[: 14 - len(prefix)].rjust(14 - len(prefix), "0")


# --- organisations ------------------------------------------------------------------------------


def organisation(key: str) -> SandboxAccount | None:
    return SandboxAccount.objects.filter(provider=PROVIDER, key=key).first()


def organisations():
    return SandboxAccount.objects.filter(provider=PROVIDER).order_by("id")


def add_organisation(key: str, name: str, environment: str = "sandbox") -> SandboxAccount:
    """An organisation in one environment, with its creditor. Idempotent."""
    account, made = SandboxAccount.objects.get_or_create(
        provider=PROVIDER, key=key, defaults={"name": name, "data": {"environment": environment}}
    )
    if made or not rows(account, "creditor").exists():
        save(
            account,
            "creditor",
            {
                "id": f"CR{key[2:]}",
                "name": name,
                "created_at": now_iso(),
                "country_code": "US",
                "creditor_type": "company",
                "verification_status": "successful",
                "links": {},
                "scheme_identifiers": [],
                "bank_reference_prefix": "DEMO",
            },
        )
    return account


def creditor(account: SandboxAccount) -> dict:
    return rows(account, "creditor").first().data


# --- records ----------------------------------------------------------------------------------


def rows(account: SandboxAccount, kind: str):
    return SandboxObject.objects.filter(provider=PROVIDER, account=account, kind=kind)


def get(account: SandboxAccount, kind: str, object_id: str) -> SandboxObject:
    row = rows(account, kind).filter(object_id=object_id).first()
    if row is None:
        raise not_found(kind + "s", object_id)
    return row


def save(account: SandboxAccount, kind: str, data: dict) -> SandboxObject:
    if "_id" in data:  # payout items have no id of their own on the wire
        object_id = data["_id"]
    else:
        if "id" not in data:
            data["id"] = new_id(account, kind)
        object_id = data["id"]
    return SandboxObject.objects.create(provider=PROVIDER, account=account, kind=kind, object_id=object_id, data=data)


def public(data: dict) -> dict:
    return {k: v for k, v in data.items() if not k.startswith("_")}


# --- idempotency keys ----------------------------------------------------------------------------


def remember_key(account: SandboxAccount, key: str, resource_id: str) -> str | None:
    """Record that `key` created `resource_id`; returns the id it created before, if it did."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        with transaction.atomic():
            SandboxObject.objects.create(
                provider=PROVIDER, account=account, kind="idempotency", object_id=digest, data={"id": resource_id}
            )
    except IntegrityError:
        return rows(account, "idempotency").get(object_id=digest).data["id"]
    return None


def key_used(account: SandboxAccount, key: str) -> str | None:
    digest = hashlib.sha256(key.encode()).hexdigest()
    row = rows(account, "idempotency").filter(object_id=digest).first()
    return row.data["id"] if row else None


def conflict(resource_id: str) -> ApiError:
    message = "A resource has already been created with this idempotency key"
    return ApiError(
        409,
        "invalid_state",
        message,
        [
            {
                "reason": "idempotent_creation_conflict",
                "message": message,
                "links": {"conflicting_resource_id": resource_id},
            }
        ],
    )


# --- events and webhooks -------------------------------------------------------------------------


def emit(
    account: SandboxAccount,
    resource_type: str,
    action: str,
    links: dict,
    *,
    cause: str,
    description: str,
    origin: str = "gocardless",
    **details,
) -> dict:
    event = {
        "id": new_id(account, "event"),
        "created_at": now_iso(),
        "resource_type": resource_type,
        "action": action,
        "links": {k: v for k, v in links.items() if v},
        "details": {"origin": origin, "cause": cause, "description": description, **details},
        "metadata": {},
        "resource_metadata": {},
        "_delivered": False,
    }
    save(account, "event", event)
    return event


def webhook_endpoint(account: SandboxAccount) -> SandboxObject | None:
    return rows(account, "webhook_endpoint").order_by("-id").first()


def set_webhook_endpoint(account: SandboxAccount, url: str) -> str:
    """Point the organisation's webhooks at `url`; returns the new endpoint secret (shown once)."""
    secret = secrets.token_urlsafe(30)
    rows(account, "webhook_endpoint").delete()
    SandboxObject.objects.create(
        provider=PROVIDER,
        account=account,
        kind="webhook_endpoint",
        object_id=secrets.token_hex(6),
        data={"url": url, "created_at": now_iso()},
        secret=secret,
    )
    return secret


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def flush(account: SandboxAccount, *, later: bool = True) -> int:
    """Send the events not delivered yet, in bodies of at most 250, oldest first. Returns how many
    bodies went out. Without an endpoint the events wait (and /events still lists them)."""
    from integrations.sandbox.delivery import send_later, send_now

    endpoint = webhook_endpoint(account)
    if endpoint is None:
        return 0
    with transaction.atomic():
        pending = [
            r for r in rows(account, "event").select_for_update().order_by("id") if r.data.get("_delivered") is False
        ]
        for row in pending:
            row.data["_delivered"] = True
            row.save(update_fields=["data"])
    sent = 0
    for start in range(0, len(pending), MAX_EVENTS_PER_WEBHOOK):
        chunk = pending[start : start + MAX_EVENTS_PER_WEBHOOK]
        body = json.dumps(
            {"events": [public(r.data) for r in chunk], "meta": {"webhook_id": new_id(account, "webhook")}},
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": WEBHOOK_USER_AGENT,
            "Origin": ORIGINS.get(account.data.get("environment"), ORIGINS["sandbox"]),
            "Webhook-Signature": sign(body, endpoint.secret),
        }
        (send_later if later else send_now)(endpoint.data["url"], body, headers)
        sent += 1
    return sent


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
