"""The HubSpot sandbox's human pages: the console (portal, tokens, switches, faults, records with
their associations) and one record as a person would open it in HubSpot.

No ml-connector login: they are the fake provider's own UI. Every control is a POST form with a
CSRF token. A private app token is shown once, right after it is created.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.hubspot.sandbox import control, limits
from integrations.hubspot.sandbox import objects as crm
from integrations.hubspot.sandbox.state import INVOICE_MODES, PROVIDER, HubSpotError, portal
from integrations.sandbox.models import SandboxToken

SHOWN = 50
COLUMNS = {
    "contacts": [
        ("Email", "email"),
        ("First name", "firstname"),
        ("Last name", "lastname"),
        ("FreshBooks client", "freshbooks_client_id"),
        ("Outstanding", "freshbooks_outstanding"),
    ],
    "companies": [
        ("Name", "name"),
        ("FreshBooks client", "freshbooks_client_id"),
        ("Total invoiced", "freshbooks_total_invoiced"),
        ("Outstanding", "freshbooks_outstanding"),
        ("Overdue", "freshbooks_overdue"),
    ],
    "invoices": [
        ("Title", "hs_title"),
        ("Status", "hs_invoice_status"),
        ("Currency", "hs_currency"),
        ("Billed", "hs_amount_billed"),
        ("Balance due", "hs_balance_due"),
    ],
    "commerce_payments": [
        ("Amount", "hs_initial_amount"),
        ("Currency", "hs_currency_code"),
        ("Status", "hs_latest_status"),
        ("Reference", "hs_reference_number"),
    ],
}
TITLES = {"contacts": "Contacts", "companies": "Companies", "invoices": "Invoices", "commerce_payments": "Payments"}


def _table(account, name: str) -> dict:
    otype = crm.TYPES[name]
    qs = crm.rows(account, otype).order_by("-pk")
    rows = []
    for row in qs[:SHOWN]:
        props = row.data["properties"] if name != "invoices" else crm.computed(account, otype, row)
        links: dict[str, list[str]] = {}
        for kind, oid in crm.associated(account, otype, row.object_id):
            links.setdefault(kind, []).append(oid)
        rows.append({"id": row.object_id, "cells": [props.get(key) or "" for _, key in COLUMNS[name]], "links": links})
    return {
        "name": name,
        "title": TITLES[name],
        "count": qs.count(),
        "columns": [c for c, _ in COLUMNS[name]],
        "rows": rows,
    }


def home(request, new_token: str | None = None) -> HttpResponse:
    account = portal()
    tokens = SandboxToken.objects.filter(
        provider=PROVIDER, account=account, revoked_at=None, kind=SandboxToken.Kind.ACCESS, app__isnull=True
    ).order_by("-id")[:10]
    from django.utils import timezone

    from integrations.hubspot.sandbox import oauth

    app = oauth.public_app()
    live = SandboxToken.objects.filter(
        provider=PROVIDER, account=account, app=app, kind=SandboxToken.Kind.ACCESS, revoked_at=None
    ).filter(expires_at__gt=timezone.now())
    context = {
        "account": account,
        "settings": control.settings_of(account),
        "invoice_modes": INVOICE_MODES,
        "tokens": [
            {"name": t.data.get("name", ""), "last4": t.data.get("last4", "????"), "created_at": t.created_at}
            for t in tokens
        ],
        "new_token": new_token,
        "oauth_app": app,
        "oauth_live": live.count() if app else 0,
        "tables": [_table(account, n) for n in TITLES],
        "stats": limits.stats(),
        "faults": control.FAULT_LABELS,
        "groups": [g for g in crm.groups(account, crm.TYPES["contacts"]).values() if g["name"] != "contactinformation"],
    }
    return render(request, "sandbox/hubspot/home.html", context)


def record(request, object_type: str, object_id: str) -> HttpResponse:
    account = portal()
    try:
        otype = crm.object_type(object_type)
    except HubSpotError:
        raise Http404("No such object type") from None
    row = crm.load(account, otype, object_id)
    if row is None:
        raise Http404("No such record")
    props = crm.computed(account, otype, row)
    links = []
    for kind, oid in crm.associated(account, otype, row.object_id):
        links.append({"type": kind, "label": crm.TYPES[kind].label, "id": oid})
    return render(
        request,
        "sandbox/hubspot/record.html",
        {"otype": otype, "row": row, "props": sorted(props.items()), "links": links},
    )


@require_POST
def console_action(request, action: str) -> HttpResponse:
    home_url = reverse("sandbox-hubspot-home")
    if action == "token":
        return home(request, new_token=control.issue_token(name=request.POST.get("name") or "ml-connector"))
    if action == "invoices" and request.POST.get("mode") in INVOICE_MODES:
        control.set_invoice_writes(request.POST["mode"])
        messages.success(request, f"Invoice writes: {INVOICE_MODES[request.POST['mode']]}.")
    elif action == "limits":
        try:
            burst = int(request.POST.get("burst", ""))
            if burst < 1:
                raise ValueError
        except ValueError:
            messages.error(request, "Enter a whole number of requests per 10 seconds, greater than zero.")
            return redirect(home_url)
        control.set_limits(burst=burst)
        messages.success(request, f"Burst limit set to {burst} requests per 10 seconds per token.")
    elif action == "inject" and request.POST.get("fault") in control.FAULTS:
        control.inject(request.POST["fault"])
        messages.success(request, f"Queued: {control.FAULT_LABELS[request.POST['fault']]}.")
    elif action == "oauth-expire":
        control.expire_oauth_tokens()
        messages.success(
            request, "The public app's access tokens expired: its next call gets 401 EXPIRED_AUTHENTICATION."
        )
    elif action == "oauth-revoke":
        control.revoke_oauth_app()
        messages.success(request, "The public app was uninstalled: its access and refresh tokens are refused.")
    elif action == "oauth-rotate":
        rotate = request.POST.get("rotate") == "1"
        control.set_oauth(rotate_refresh=rotate)
        messages.success(request, "Refresh tokens now " + ("rotate (single use)." if rotate else "stay valid."))
    elif action == "reset-counters":
        limits.reset()
        messages.success(request, "Rate-limit windows and counters were reset.")
    else:
        raise Http404("Unknown action")
    return redirect(home_url)
