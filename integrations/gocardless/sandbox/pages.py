"""The fake GoCardless's pages: a dashboard per organisation (access tokens, the webhook endpoint,
customers and mandates, and the scenario control that moves a payment along or makes a payout),
and the hosted billing-request page a client fills in to set up a mandate."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from integrations.gocardless.sandbox import scenario
from integrations.gocardless.sandbox.state import (
    CURRENCIES,
    PROVIDER,
    ApiError,
    flush,
    get,
    organisation,
    organisations,
    rows,
    set_webhook_endpoint,
    webhook_endpoint,
)
from integrations.sandbox import tokens
from integrations.sandbox.models import SandboxObject


def issue_token(account, environment: str | None = None) -> str:
    env = environment or account.data.get("environment", "sandbox")
    return tokens.issue(PROVIDER, "access", account=account, prefix=f"{env}_", data={"environment": env})


def console(request):
    orgs = list(organisations())
    key = request.GET.get("org") or (orgs[0].key if orgs else "")
    account = organisation(key) if key else None
    context = {"orgs": orgs, "account": account, "currencies": sorted(CURRENCIES)}
    if account is not None:
        customers = [r.data for r in rows(account, "customer").order_by("id")]
        mandates = [r.data for r in rows(account, "mandate").order_by("id")]
        context |= {
            "customers": customers,
            "mandates": mandates,
            "payments": [r.data for r in rows(account, "payment").order_by("-id")[:50]],
            "payouts": [r.data for r in rows(account, "payout").order_by("-id")[:20]],
            "subscriptions": [r.data for r in rows(account, "subscription").order_by("id")],
            "events": [r.data for r in rows(account, "event").order_by("-id")[:30]],
            "endpoint": webhook_endpoint(account),
            "moves": [(m, spec[1]) for m, spec in scenario.MOVES.items()],
        }
    return render(request, "sandbox/gocardless/console.html", context)


@csrf_exempt
def console_action(request, key: str, action: str):
    account = organisation(key)
    if account is None or request.method != "POST":
        raise Http404("No such organisation")
    back = reverse("sandbox-gocardless-home") + f"?org={key}"
    try:
        if action == "token":
            messages.success(
                request,
                f"New {account.data.get('environment', 'sandbox')} access token (shown once): {issue_token(account)}",
            )
        elif action == "webhook":
            url = request.POST.get("url", "").strip()
            if not url.startswith(("http://", "https://")):
                messages.error(request, "Enter the webhook URL ml-connector shows (http:// or https://).")
            else:
                messages.success(
                    request, f"Webhook endpoint saved. Its secret (shown once): {set_webhook_endpoint(account, url)}"
                )
        elif action == "customer":
            customer = scenario.add_customer(
                account,
                email=request.POST.get("email", "").strip(),
                company_name=request.POST.get("company_name", "").strip(),
            )
            if request.POST.get("currency") in CURRENCIES:
                scenario.add_mandate(account, customer["id"], request.POST["currency"])
            messages.success(request, f"Customer {customer['id']} created.")
        elif action == "move":
            payment = scenario.move_payment(account, request.POST.get("payment", ""), request.POST.get("move", ""))
            messages.success(request, f"Payment {payment['id']} is now {payment['status']}.")
        elif action == "subscription":
            amount = int(Decimal(request.POST.get("amount", "0")).scaleb(2))
            sub = scenario.add_subscription(account, request.POST.get("mandate", ""), amount)
            messages.success(
                request, f"Subscription {sub['id']} created: next payment {sub['upcoming_payments'][0]['charge_date']}."
            )
        elif action == "collect":
            payment = scenario.collect_subscription(account, request.POST.get("subscription", ""))
            messages.success(request, f"Subscription payment {payment['id']} created for {payment['charge_date']}.")
        elif action == "payout":
            payout = scenario.create_payout(account, request.POST.get("currency", "USD"))
            messages.success(request, f"Payout {payout['id']} paid." if payout else "No confirmed payment to pay out.")
        else:
            raise Http404("No such action")
    except (ApiError, KeyError, ValueError, StopIteration, ArithmeticError) as exc:
        messages.error(request, getattr(exc, "message", None) or f"Cannot do that: {exc}")
    flush(account)
    return redirect(back)


@csrf_exempt
def flow(request, flow_id: str):
    """GoCardless's hosted page, as the client sees it: pre-filled, one button."""
    row = SandboxObject.objects.filter(provider=PROVIDER, kind="billing_request_flow", object_id=flow_id).first()
    if row is None:
        raise Http404("This link is not valid.")
    account = row.account
    request_row = get(account, "billing_request", row.data["links"]["billing_request"])
    prefilled = row.data.get("prefilled_customer") or {}
    if request.method == "POST":
        fields = {
            k: request.POST.get(k, prefilled.get(k, "")).strip()
            for k in ("email", "given_name", "family_name", "company_name")
        }
        if not fields["email"]:
            return render(
                request,
                "sandbox/gocardless/flow.html",
                {"flow": row.data, "request_data": request_row.data, "prefilled": fields, "error": "Enter your email."},
                status=400,
            )
        scenario.fulfil_billing_request(account, request_row.object_id, fields)
        flush(account)
        target = row.data.get("redirect_uri")
        if target:
            return HttpResponseRedirect(target)
        return render(
            request, "sandbox/gocardless/flow.html", {"flow": row.data, "request_data": request_row.data, "done": True}
        )
    return render(
        request,
        "sandbox/gocardless/flow.html",
        {
            "flow": row.data,
            "request_data": request_row.data,
            "prefilled": prefilled,
            "done": request_row.data["status"] == "fulfilled",
        },
    )
