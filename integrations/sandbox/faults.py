"""Fault injection for the fakes: 429s, 5xx, timeouts, delays, revoked tokens.

A fake calls `inject(provider, request, account)` first thing in each API view; when a queued fault
matches "METHOD /path" it is consumed (atomically, so two workers never both take the last one)
and applied. Tests and the sandbox pages queue faults with `add()`.
"""

from __future__ import annotations

import json
import time

from django.db.models import F
from django.http import HttpResponse

from integrations.sandbox.models import SandboxFault
from integrations.sandbox.tokens import revoke_account

# The in-process transport (tests) turns this header into requests.ReadTimeout instead of waiting.
SIMULATED_TIMEOUT_HEADER = "X-Sandbox-Simulated-Timeout"


def add(
    provider: str,
    kind: str = SandboxFault.Kind.STATUS,
    *,
    match: str = "",
    status: int = 500,
    body=None,
    headers: dict | None = None,
    delay_seconds: float = 0,
    times: int = 1,
) -> SandboxFault:
    return SandboxFault.objects.create(
        provider=provider,
        kind=kind,
        match=match,
        status=status,
        body=body,
        headers=headers or {},
        delay_seconds=delay_seconds,
        remaining=times,
    )


def clear(provider: str | None = None) -> None:
    qs = SandboxFault.objects.all()
    if provider:
        qs = qs.filter(provider=provider)
    qs.delete()


def _take(provider: str, signature: str) -> SandboxFault | None:
    for fault in SandboxFault.objects.filter(provider=provider, remaining__gt=0).order_by("id"):
        if fault.match and fault.match not in signature:
            continue
        if SandboxFault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            return fault
    return None


def inject(provider: str, request, account=None) -> HttpResponse | None:
    """Apply the next matching fault; returns the response to send instead, or None to proceed."""
    if not SandboxFault.objects.filter(provider=provider, remaining__gt=0).exists():
        return None
    fault = _take(provider, f"{request.method} {request.path}")
    if fault is None:
        return None
    if fault.kind == SandboxFault.Kind.DELAY:
        time.sleep(fault.delay_seconds)
        return None
    if fault.kind == SandboxFault.Kind.REVOKE:
        if account is not None:
            revoke_account(provider, account)
        return None
    if fault.kind == SandboxFault.Kind.TIMEOUT:
        if request.META.get("sandbox.inprocess"):
            response = HttpResponse(status=504)
            response[SIMULATED_TIMEOUT_HEADER] = "1"
            return response
        time.sleep(fault.delay_seconds or 35)
        return HttpResponse(status=504)
    body = fault.body if fault.body is not None else {"error": "sandbox fault"}
    response = HttpResponse(json.dumps(body), status=fault.status, content_type="application/json")
    for name, value in (fault.headers or {}).items():
        response[name] = str(value)
    return response
