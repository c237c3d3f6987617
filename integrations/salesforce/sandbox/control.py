"""What a person does in the org's Setup, as the console's buttons and the tests call it."""

from __future__ import annotations

from django.utils import timezone

from integrations.salesforce.sandbox import state as st
from integrations.sandbox.models import SandboxAccount, SandboxToken

VALIDATION_MESSAGE = "Billing country is required on every account (validation rule Billing_Country_Required)."


def org(host: str = st.DEMO_HOST) -> SandboxAccount:
    found = st.org_for(host)
    return found if found is not None else st.ensure_org(host)


def _change(host: str, change) -> SandboxAccount:
    o = org(host)
    change(o.data)
    st.save_org(o)
    return o


def remove_field(sobject: str, field: str, host: str = st.DEMO_HOST) -> None:
    """Delete a custom field (as if it had never been created)."""
    _change(host, lambda d: d["fields"].get(sobject, {}).pop(field, None))


def add_field(sobject: str, field: str, host: str = st.DEMO_HOST, spec: dict | None = None) -> None:
    """Create a custom field: the spec given, else the one ml-connector's README asks for, else an
    external-id Text (255)."""
    spec = (
        spec
        or st.DEFAULT_CUSTOM_FIELDS.get(sobject, {}).get(field)
        or st.ORDER_MANAGEMENT_FIELDS.get(sobject, {}).get(field)
        or {"type": "string", "externalId": True, "unique": True, "length": 255}
    )
    _change(host, lambda d: d["fields"].setdefault(sobject, {}).__setitem__(field, dict(spec)))


def set_order_management(on: bool, host: str = st.DEMO_HOST, *, with_fields: bool = True) -> None:
    """The org gets (or loses) the Order Management licence: the Invoice object appears in describe.
    With fields, the admin has also created what ml-connector links with: Invoice.FreshBooks_Invoice_Id__c
    and the Opportunity's Lookup(Invoice). Without the licence neither field can exist."""

    def change(d):
        d["order_management"] = on
        for sobject, specs in st.ORDER_MANAGEMENT_FIELDS.items():
            for name, spec in specs.items():
                if on and with_fields:
                    d["fields"].setdefault(sobject, {})[name] = dict(spec)
                elif not on:
                    d["fields"].get(sobject, {}).pop(name, None)

    _change(host, change)


def add_invoice(
    freshbooks_invoice_id: str = "",
    *,
    account_id: str = "",
    amount: str = "",
    host: str = st.DEMO_HOST,
) -> str:
    """An Invoice as Order Management makes it (from an order summary), carrying the FreshBooks invoice
    id in Invoice.FreshBooks_Invoice_Id__c when that field exists. Returns its id."""
    o = org(host)
    if not o.data.get("order_management"):
        raise ValueError("This org has no Order Management: turn it on first.")
    data = {"BillingAccountId": account_id, "TotalAmount": amount, "TotalAmountWithTax": amount, "Balance": amount}
    if freshbooks_invoice_id and st.INVOICE_MATCH_FIELD in o.data["fields"].get("Invoice", {}):
        data[st.INVOICE_MATCH_FIELD] = str(freshbooks_invoice_id)
    return st.create_invoice(o, data).object_id


def invoices(host: str = st.DEMO_HOST) -> list[dict]:
    return [dict(r.data, Id=r.object_id) for r in st.records(org(host), "Invoice").order_by("id")]


def set_validation_rule(active: bool, sobject: str = "Account", host: str = st.DEMO_HOST) -> None:
    def change(d):
        if active:
            d["validation"][sobject] = VALIDATION_MESSAGE
        else:
            d["validation"].pop(sobject, None)

    _change(host, change)


def set_flag(name: str, value, host: str = st.DEMO_HOST) -> None:
    """api_enabled, run_as_user, multi_currency, max_version, daily_limit, query_batch, session_seconds."""
    _change(host, lambda d: d.__setitem__(name, value))


def rename_won_stage(new_label: str, host: str = st.DEMO_HOST) -> str:
    """Rename the won stage (its API name too); Opportunities in it follow, as in Salesforce."""
    o = org(host)
    won = next(s for s in o.data["stages"] if s["IsWon"] and s["IsActive"])
    old = won["ApiName"]
    won["ApiName"] = won["MasterLabel"] = new_label
    st.save_org(o)
    for record in st.records(o, "Opportunity"):
        if record.data.get("StageName") == old:
            record.data["StageName"] = new_label
            record.save(update_fields=["data"])
    return old


def end_sessions(host: str = st.DEMO_HOST) -> int:
    """Every session of the org ends (timeout, an admin revoked them): the next call gets 401."""
    return SandboxToken.objects.filter(provider=st.PROVIDER, account=org(host), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def set_api_usage(used: int, host: str = st.DEMO_HOST) -> None:
    st.set_usage(org(host), used)


def sessions_issued(host: str = st.DEMO_HOST) -> int:
    return SandboxToken.objects.filter(provider=st.PROVIDER, account=org(host)).count()


def api_usage(host: str = st.DEMO_HOST) -> tuple[int, int]:
    return st.usage(org(host))


def accounts(host: str = st.DEMO_HOST) -> list[dict]:
    return [dict(r.data, Id=r.object_id) for r in st.records(org(host), "Account").order_by("id")]


def opportunities(host: str = st.DEMO_HOST) -> list[dict]:
    return [dict(r.data, Id=r.object_id) for r in st.records(org(host), "Opportunity").order_by("id")]


def add_record(sobject: str, data: dict, host: str = st.DEMO_HOST) -> str:
    """A record made by a person in Salesforce (no checks beyond the ones every write gets)."""
    o = org(host)
    from integrations.sandbox.models import SandboxObject

    record = SandboxObject.objects.create(
        provider=st.PROVIDER, account=o, kind=sobject, object_id=st.new_id(sobject), data=dict(data)
    )
    st.index(o, record)
    return record.object_id
