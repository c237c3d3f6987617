"""The FreshBooks sandbox's human pages: the OAuth consent page and the console.

The consent page stands in for auth.freshbooks.com: pick a seeded identity, Allow or Deny. The
console is where a person creates invoices, payments, clients, bills and expenses and watches the
signed webhooks go out. Neither needs an ml-connector login: they are the fake provider's own UI.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.freshbooks.sandbox import records as records
from integrations.freshbooks.sandbox.state import (
    ALL_SCOPES,
    CODE_TTL,
    KINDS,
    PROVIDER,
    ApiError,
    Change,
    amount_of,
    announce,
    business,
    businesses,
    identities,
    identity,
    memberships,
    rows,
    today,
)
from integrations.sandbox import tokens
from integrations.sandbox.models import SandboxAccount

_SCOPE = re.compile(r"^user:(?P<object>[a-z_]+):(?P<action>read|write)$")
CURRENCIES = [(c, c) for c in ("USD", "CAD", "EUR", "GBP", "AUD")]
PAYMENT_TYPES = [(t, t) for t in ("Check", "Credit Card", "Bank Transfer", "ACH", "Cash")]


# --- OAuth consent ------------------------------------------------------------------------------


def _error_page(request, message: str) -> HttpResponse:
    return render(request, "sandbox/freshbooks/authorize_error.html", {"message": message}, status=400)


def _back(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{redirect_uri}?{urlencode({k: v for k, v in params.items() if v})}")


def authorize(request) -> HttpResponse:
    """GET shows the consent page; POST (same URL, same query string) is Allow or Deny.

    An unknown client_id or an unregistered redirect_uri gets an error page and never a redirect
    (RFC 6749 §4.1.2.1): redirecting there would hand codes to whoever asked.
    """
    q = request.GET
    app = tokens.app_for(PROVIDER, q.get("client_id"))
    if app is None:
        return _error_page(request, "This application is not registered with the sandbox (unknown client_id).")
    redirect_uri = q.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    # A new app with no registered URIs accepts any; seed_demo registers ml-connector's own.
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return _error_page(request, "redirect_uri must be an absolute http(s) URL without a query string.")
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        return _error_page(request, "redirect_uri does not match the ones registered for this application.")
    state = q.get("state", "")
    if q.get("response_type") != "code":
        return _back(redirect_uri, error="unsupported_response_type", state=state)
    scopes = q.get("scope", "").split() or ALL_SCOPES.split()
    if any(not _SCOPE.match(s) for s in scopes):
        return _back(redirect_uri, error="invalid_scope", state=state)
    if "user:profile:read" not in scopes:
        scopes.insert(0, "user:profile:read")  # added to every app by default
    people = list(identities())
    error = ""
    if request.method == "POST":
        if request.POST.get("decision") == "deny":
            return _back(redirect_uri, error="access_denied", state=state)
        person = identity(request.POST.get("identity"))
        if request.POST.get("decision") == "allow" and person is not None:
            # The code remembers its redirect_uri: the token request must repeat it exactly.
            data = {"redirect_uri": redirect_uri}
            code = tokens.issue(
                PROVIDER, "code", account=person, app=app, ttl=CODE_TTL, scopes=" ".join(scopes), data=data
            )
            return _back(redirect_uri, code=code, state=state)
        error = "Choose who to sign in as."
    context = {
        "app": app,
        "redirect_uri": redirect_uri,
        "scopes": [(s, _describe(s)) for s in scopes],
        "people": [(p, [b for _, b in memberships(p)]) for p in people],
        "chosen": str(request.POST.get("identity") or (people[0].data["identity_id"] if people else "")),
        "error": error,
    }
    return render(request, "sandbox/freshbooks/authorize.html", context, status=400 if error else 200)


def _describe(scope: str) -> str:
    m = _SCOPE.match(scope)
    what = m["object"].replace("_", " ")
    return f"{'See' if m['action'] == 'read' else 'Create and change'} your {what}"


# --- console forms ------------------------------------------------------------------------------


def _amount(label: str = "Amount") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="For example 120.00",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "invalid": "Enter an amount such as 120.00.",
            "min_value": "Enter an amount greater than zero.",
            "max_decimal_places": "Use at most 2 decimal places.",
        },
    )


def _day(label: str, initial_days: int = 0) -> forms.DateField:
    return forms.DateField(
        label=label,
        initial=lambda: today() + timedelta(days=initial_days),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ConsoleForm(forms.Form):
    """A console action: validates like a form, then creates records through the API's own rules."""

    title = ""

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        self.account = account
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}-help"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                # Screen readers announce the error that sits next to the field.
                attrs = self.fields[name].widget.attrs
                attrs.update({"aria-invalid": "true", "aria-describedby": f"{self[name].auto_id}-error"})

    # Each console form defines save() -> (message, changes) to apply itself to the fake's state.


def _choices(account: SandboxAccount, kind: str, label) -> list[tuple[str, str]]:
    return [(r.object_id, label(r.data)) for r in rows(account, kind) if r.data.get("vis_state", 0) == 0]


class InvoiceForm(ConsoleForm):
    title = "Create an invoice"
    customerid = forms.ChoiceField(label="Client")
    amount = _amount()
    currency_code = forms.ChoiceField(label="Currency", choices=CURRENCIES)
    due_date = _day("Due date", 30)

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        super().__init__(account, *args, **kwargs)
        self.fields["customerid"].choices = _choices(account, "client", lambda c: c["organization"])
        self.fields["currency_code"].initial = account.data.get("currency_code", "USD")

    def save(self) -> tuple[str, list[Change]]:
        d = self.cleaned_data
        line = {"name": "Services", "qty": "1", "unit_cost": {"amount": str(d["amount"])}}
        fields = {"customerid": d["customerid"], "currency_code": d["currency_code"], "lines": [line]}
        record, changes = records.create(self.account, KINDS["invoice"], {**fields, "status": 2, **_due(d)})
        return f"Invoice {record['invoice_number']} for {record['amount']['amount']} {record['currency_code']}", changes


def _due(d: dict) -> dict:
    return {"create_date": today().isoformat(), "due_date": d["due_date"].isoformat()}


class PaymentForm(ConsoleForm):
    title = "Record a payment"
    invoiceid = forms.ChoiceField(label="Invoice")
    amount = _amount()
    date = _day("Payment date")
    type = forms.ChoiceField(label="Payment type", choices=PAYMENT_TYPES)

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        super().__init__(account, *args, **kwargs)
        open_invoices = [
            r.data
            for r in rows(account, "invoice")
            if r.data.get("vis_state", 0) == 0 and amount_of(r.data["outstanding"]) > 0
        ]
        self.fields["invoiceid"].choices = [
            (str(i["id"]), f"{i['invoice_number']} · {i['organization']} · {i['outstanding']['amount']} outstanding")
            for i in open_invoices
        ]

    def save(self) -> tuple[str, list[Change]]:
        d = self.cleaned_data
        fields = {"invoiceid": d["invoiceid"], "amount": {"amount": str(d["amount"])}, "type": d["type"]}
        record, changes = records.create(self.account, KINDS["payment"], {**fields, "date": d["date"].isoformat()})
        return f"Payment of {record['amount']['amount']} {record['amount']['code']}", changes


class ClientForm(ConsoleForm):
    title = "Create a client"
    organization = forms.CharField(label="Organization", max_length=200)
    fname = forms.CharField(label="First name", max_length=100, required=False)
    lname = forms.CharField(label="Last name", max_length=100, required=False)
    email = forms.EmailField(label="Email", required=False)
    currency_code = forms.ChoiceField(label="Currency", choices=CURRENCIES)

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        super().__init__(account, *args, **kwargs)
        self.fields["currency_code"].initial = account.data.get("currency_code", "USD")

    def save(self) -> tuple[str, list[Change]]:
        record, changes = records.create(self.account, KINDS["client"], dict(self.cleaned_data))
        return f"Client {record['organization']}", changes


class BillForm(ConsoleForm):
    title = "Create a bill"
    vendor_name = forms.CharField(label="Vendor", max_length=200, help_text="An existing vendor or a new name")
    amount = _amount()
    currency_code = forms.ChoiceField(label="Currency", choices=CURRENCIES)
    due_date = _day("Due date", 30)

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        super().__init__(account, *args, **kwargs)
        self.fields["currency_code"].initial = account.data.get("currency_code", "USD")
        self.fields["vendor_name"].widget.attrs["list"] = "vendor-names"

    def save(self) -> tuple[str, list[Change]]:
        d, changes = self.cleaned_data, []
        name = d["vendor_name"].strip()
        vendors = [r.data for r in rows(self.account, "bill_vendor")]
        vendor = next((v for v in vendors if v["vendor_name"].lower() == name.lower()), None)
        if vendor is None:
            vendor, changes = records.create(self.account, KINDS["bill_vendor"], {"vendor_name": name})
        line = {"name": "Bill", "qty": "1", "unit_cost": {"amount": str(d["amount"])}}
        fields = {"vendorid": vendor["vendorid"], "currency_code": d["currency_code"], "lines": [line]}
        dates = {"issue_date": today().isoformat(), "due_date": d["due_date"].isoformat()}
        record, more = records.create(self.account, KINDS["bill"], {**fields, **dates})
        return f"Bill {record['bill_number']} from {vendor['vendor_name']}", changes + more


class ExpenseForm(ConsoleForm):
    title = "Record an expense"
    vendor = forms.CharField(label="Vendor", max_length=200)
    amount = _amount()
    categoryid = forms.ChoiceField(label="Category")
    date = _day("Date")
    notes = forms.CharField(label="Notes", max_length=500, required=False)

    def __init__(self, account: SandboxAccount, *args, **kwargs) -> None:
        super().__init__(account, *args, **kwargs)
        self.fields["categoryid"].choices = _choices(account, "category", lambda c: c["category"])

    def save(self) -> tuple[str, list[Change]]:
        d = self.cleaned_data
        code = self.account.data.get("currency_code", "USD")
        fields = {"vendor": d["vendor"], "categoryid": d["categoryid"], "notes": d["notes"]}
        fields |= {"amount": {"amount": str(d["amount"]), "code": code}, "date": d["date"].isoformat()}
        record, changes = records.create(self.account, KINDS["expense"], fields)
        return f"Expense of {record['amount']['amount']} {code} at {record['vendor']}", changes


FORMS: dict[str, type[ConsoleForm]] = {
    "invoice": InvoiceForm,
    "payment": PaymentForm,
    "client": ClientForm,
    "bill": BillForm,
    "expense": ExpenseForm,
}


# --- console views ------------------------------------------------------------------------------


def console(request) -> HttpResponse:
    account = business(request.GET.get("account")) or businesses().first()
    return _render_console(request, account)


@require_POST
def console_action(request, account_id: str, action: str) -> HttpResponse:
    account = business(account_id)
    if account is None or action not in FORMS:
        raise Http404("No such sandbox business or action.")
    form = FORMS[action](account, request.POST, prefix=action)
    if form.is_valid():
        try:
            with transaction.atomic():
                label, changes = form.save()
        except ApiError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            sent = announce(changes)  # committed: receivers fetch the record as soon as they hear of it
            plural = "" if sent == 1 else "s"
            messages.success(request, f"{label} created. {sent} signed webhook{plural} sent.")
            return redirect(f"{reverse('sandbox-freshbooks-home')}?account={account.key}")
    return _render_console(request, account, bound=(action, form), status=400)


def _render_console(request, account: SandboxAccount | None, bound=None, status: int = 200) -> HttpResponse:
    context: dict = {"businesses": list(businesses()), "account": account}
    if account is not None:
        forms_ = {name: cls(account, prefix=name) for name, cls in FORMS.items()}
        if bound is not None:
            forms_[bound[0]] = bound[1]
        context.update(_recent(account), forms=forms_, owners=[p for p in identities() if _member(p, account)])
    return render(request, "sandbox/freshbooks/home.html", context, status=status)


def _member(person: SandboxAccount, account: SandboxAccount) -> bool:
    return any(m["account_id"] == account.key for m in person.data.get("memberships", []))


def _recent(account: SandboxAccount, limit: int = 8) -> dict:
    def newest(kind: str) -> list[dict]:
        return [r.data for r in rows(account, kind).order_by("-id")[:limit]]

    clients = {r.object_id: r.data for r in rows(account, "client")}
    vendors = {r.object_id: r.data for r in rows(account, "bill_vendor")}
    categories = {r.object_id: r.data for r in rows(account, "category")}
    return {
        "invoices": newest("invoice"),
        "payments": newest("payment"),
        "clients": newest("client"),
        "bills": [{**b, "vendor": vendors.get(str(b["vendorid"]), {})} for b in newest("bill")],
        "expenses": [{**e, "category": categories.get(str(e["categoryid"]), {})} for e in newest("expense")],
        "vendor_names": sorted(v["vendor_name"] for v in vendors.values()),
        "callbacks": [r.data for r in rows(account, "callback")],
        "client_count": len(clients),
    }
