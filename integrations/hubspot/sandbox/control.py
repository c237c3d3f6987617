"""The HubSpot sandbox's Python API (re-exported by integrations.hubspot.sandbox) for tests, demo, benchmark.

issue_token(scopes=..., hub_id=None) -> "pat-na1-…"   a private app token (shown once)
records("contacts") -> [{"id", "properties": {...}, "associations": {"companies": [ids], ...}}]
record("contacts", id_or_email) -> the same for one record (None when absent)
associations("invoices", id, "line_items") -> [ids]
set_invoice_writes("enabled" | "missing_scope" | "not_enabled")
set_limits(burst=190, daily=None, search_per_second=None)
inject("429" | "daily" | "423" | "477" | "500", match="", times=1)
add_portal(hub_id, name) ; stats() ; reset()
The public app (OAuth, oauth.py): expire_oauth_tokens(hub_id=None) (access tokens expire now),
revoke_oauth_app(hub_id=None) (uninstalled: access and refresh tokens refused),
set_oauth(rotate_refresh=None, access_ttl=None, grant_optional=None, burst=None)
"""

from __future__ import annotations

from integrations.hubspot.sandbox import limits
from integrations.hubspot.sandbox import objects as crm
from integrations.hubspot.sandbox.state import (
    DEFAULT_SCOPES,
    INVOICE_MODES,
    PROVIDER,
    change,
    portal,
    setting,
)
from integrations.hubspot.sandbox.state import issue_token as _issue
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxAccount, SandboxFault, SandboxObject, SandboxToken


def issue_token(scopes: str = DEFAULT_SCOPES, hub_id: int | str | None = None, name: str = "ml-connector") -> str:
    return _issue(portal(hub_id) if hub_id else portal(), scopes=scopes, name=name)


def add_portal(hub_id: int, name: str, **settings) -> SandboxAccount:
    return portal(hub_id, name, **settings)


def _view(account, otype, row) -> dict:
    found: dict[str, list[str]] = {}
    for kind, oid in crm.associated(account, otype, row.object_id):
        found.setdefault(kind, []).append(oid)
    return {"id": row.object_id, "properties": crm.computed(account, otype, row), "associations": found}


def records(object_type: str, hub_id: int | str | None = None) -> list[dict]:
    account = portal(hub_id) if hub_id else portal()
    otype = crm.object_type(object_type)
    return [_view(account, otype, r) for r in crm.rows(account, otype).order_by("pk")]


def record(object_type: str, key: str, id_property: str | None = None) -> dict | None:
    account = portal()
    otype = crm.object_type(object_type)
    if id_property is None and "@" in str(key):
        id_property = "email"
    found = crm.find_id(account, otype, str(key), id_property)
    row = crm.load(account, otype, found) if found else None
    return _view(account, otype, row) if row else None


def associations(object_type: str, object_id: str, to_type: str) -> list[str]:
    otype = crm.object_type(object_type)
    return [oid for _, oid in crm.associated(portal(), otype, str(object_id), crm.object_type(to_type))]


def set_invoice_writes(mode: str) -> None:
    if mode not in INVOICE_MODES:
        raise ValueError(f"invoice writes: one of {', '.join(INVOICE_MODES)}")
    change(portal(), invoices=mode)


def set_limits(burst: int | None = None, daily: int | None = None, search_per_second: int | None = None) -> None:
    values = {"burst_limit": burst, "daily_limit": daily, "search_per_second": search_per_second}
    change(portal(), **{k: v for k, v in values.items() if v is not None})


# What each injected fault answers, as HubSpot does (vendors doc §2.7, §2.8).
FAULTS = {
    "429": (
        429,
        {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "00000000-0000-4000-8000-000000000429",
            "policyName": "TEN_SECONDLY_ROLLING",
        },
        {"Retry-After": "1"},
    ),
    "daily": (
        429,
        {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "00000000-0000-4000-8000-000000000d41",
            "policyName": "DAILY",
        },
        {},
    ),
    "423": (
        423,
        {
            "status": "error",
            "message": "Locked: too many upserts at once; retry in a couple of seconds.",
            "category": "LOCKED",
            "correlationId": "00000000-0000-4000-8000-000000000423",
        },
        {"Retry-After": "2"},
    ),
    "477": (
        477,
        {
            "status": "error",
            "message": "Migration in progress.",
            "category": "MIGRATION_IN_PROGRESS",
            "correlationId": "00000000-0000-4000-8000-000000000477",
        },
        {"Retry-After": "3"},
    ),
    "500": (
        500,
        {
            "status": "error",
            "message": "internal error",
            "category": "INTERNAL_ERROR",
            "correlationId": "00000000-0000-4000-8000-000000000500",
        },
        {},
    ),
}
FAULT_LABELS = {
    "429": "429 TEN_SECONDLY_ROLLING on the next call",
    "daily": "429 DAILY on the next call",
    "423": "423 Locked on the next call",
    "477": "477 Migration in progress on the next call",
    "500": "500 on the next call",
}


def inject(kind: str, match: str = "", times: int = 1) -> SandboxFault:
    status, body, headers = FAULTS[kind]
    return faults.add(
        PROVIDER, SandboxFault.Kind.STATUS, match=match, status=status, body=body, headers=headers, times=times
    )


def stats() -> dict[str, int]:
    return limits.stats()


def settings_of(account=None) -> dict:
    account = account or portal()
    return {
        name: setting(account, name)
        for name in (
            "time_zone",
            "currency",
            "burst_limit",
            "daily_limit",
            "search_per_second",
            "invoices",
            "oauth_burst_limit",
            "oauth_access_ttl",
            "oauth_rotate_refresh",
        )
    }


def reset() -> SandboxAccount:
    """Back to an empty seeded portal: no records, tokens, faults or counters."""
    SandboxObject.objects.filter(provider=PROVIDER).delete()
    SandboxToken.objects.filter(provider=PROVIDER).delete()
    SandboxAccount.objects.filter(provider=PROVIDER).delete()
    faults.clear(PROVIDER)
    limits.reset()
    return portal()


def expire_oauth_tokens(hub_id: int | str | None = None) -> int:
    from integrations.hubspot.sandbox import oauth

    return oauth.expire_access_tokens(portal(hub_id) if hub_id else portal())


def revoke_oauth_app(hub_id: int | str | None = None) -> int:
    from integrations.hubspot.sandbox import oauth

    return oauth.revoke_app(portal(hub_id) if hub_id else portal())


def set_oauth(
    rotate_refresh: bool | None = None,
    access_ttl: int | None = None,
    grant_optional: bool | None = None,
    burst: int | None = None,
) -> None:
    values = {
        "oauth_rotate_refresh": rotate_refresh,
        "oauth_access_ttl": access_ttl,
        "oauth_grant_optional": grant_optional,
        "oauth_burst_limit": burst,
    }
    change(portal(), **{k: v for k, v in values.items() if v is not None})
