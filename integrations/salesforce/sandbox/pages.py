"""The fake Salesforce as a person sees it: each org's Accounts and Opportunities, a record's page
(where ml-connector's links lead), and the org's Setup switches that the demo and tests flip."""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.salesforce.sandbox import control
from integrations.salesforce.sandbox import state as st
from integrations.sandbox.models import SandboxAccount


def home(request):
    # Production orgs first, then sandbox orgs: the demo org is the one shown unless another is chosen.
    orgs = sorted(
        SandboxAccount.objects.filter(provider=st.PROVIDER), key=lambda o: (bool(o.data.get("is_sandbox")), o.pk)
    )
    chosen = request.GET.get("org") or (orgs[0].key if orgs else "")
    org = next((o for o in orgs if o.key == chosen), None)
    context = {"orgs": orgs, "org": org}
    if org is not None:
        accounts = {r.object_id: r.data for r in st.records(org, "Account")}
        used, limit = st.usage(org)
        fields = org.data.get("fields", {})
        context.update(
            {
                "accounts": [dict(d, Id=i) for i, d in accounts.items()],
                "opportunities": [
                    dict(r.data, Id=r.object_id, AccountName=accounts.get(r.data.get("AccountId"), {}).get("Name", ""))
                    for r in st.records(org, "Opportunity").order_by("id")
                ],
                "used": used,
                "limit": limit,
                "stages": st.active_stages(org),
                "won": next((s for s in st.active_stages(org) if s["IsWon"]), None),
                "consumer_key": st.CONSUMER_KEY,
                "consumer_secret": st.CONSUMER_SECRET,
                "custom_fields": [
                    {"sobject": sobject, "name": name, "present": name in fields.get(sobject, {})}
                    for group in (
                        st.DEFAULT_CUSTOM_FIELDS,
                        st.ORDER_MANAGEMENT_FIELDS if org.data.get("order_management") else {},
                    )
                    for sobject, names in group.items()
                    for name in names
                ],
                "order_management": bool(org.data.get("order_management")),
                "invoices": [
                    dict(
                        r.data,
                        Id=r.object_id,
                        AccountName=accounts.get(r.data.get("BillingAccountId"), {}).get("Name", ""),
                    )
                    for r in st.records(org, "Invoice").order_by("id")
                ]
                if org.data.get("order_management")
                else [],
                "validation": bool(org.data.get("validation", {}).get("Account")),
                "sessions": control.sessions_issued(org.key),
            }
        )
    return render(request, "sandbox/salesforce/home.html", context)


def record_page(request, host: str, sobject: str, record_id: str):
    org = st.org_for(host)
    if org is None or sobject not in (*st.WRITABLE, *st.UPDATE_ONLY) or not st.has_object(org, sobject):
        raise Http404("No such org or object")
    found = st.by_id(org, sobject, record_id)
    if found is None:
        raise Http404("No such record")
    return render(
        request,
        "sandbox/salesforce/record.html",
        {"org": org, "sobject": sobject, "record": found, "fields": sorted(found.data.items())},
    )


@require_POST
def console_action(request, host: str, action: str):
    org = st.org_for(host)
    if org is None:
        raise Http404("No such org")
    p = request.POST
    if action == "field":
        sobject, name = p.get("sobject", ""), p.get("name", "")
        if p.get("present") == "1":
            control.add_field(sobject, name, host)
        else:
            control.remove_field(sobject, name, host)
    elif action == "validation":
        control.set_validation_rule(p.get("active") == "1", host=host)
    elif action == "rename-won":
        label = (p.get("label") or "").strip()
        if label:
            control.rename_won_stage(label, host)
    elif action == "flag":
        name = p.get("name", "")
        if name not in ("api_enabled", "run_as_user", "multi_currency"):
            raise Http404("No such switch")
        control.set_flag(name, p.get("value") == "1", host)
    elif action == "order-management":
        control.set_order_management(p.get("value") == "1", host)
    elif action == "invoice":
        if org.data.get("order_management"):
            control.add_invoice(
                (p.get("freshbooks_invoice_id") or "").strip(),
                account_id=(p.get("account_id") or "").strip(),
                amount=(p.get("amount") or "").strip(),
                host=host,
            )
    elif action == "sessions":
        control.end_sessions(host)
    elif action == "usage":
        try:
            control.set_api_usage(max(0, int(p.get("used", "0"))), host)
        except ValueError:
            pass
    else:
        raise Http404("No such action")
    return HttpResponseRedirect(reverse("sandbox-salesforce-home") + f"?org={host}")
