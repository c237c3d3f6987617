"""What ml-connector needs to know about the org, read with a few calls and kept in the
connection's config: the external-id fields (and the exact field to create when one is missing),
the optional fields it fills when they exist, multi-currency, and the Opportunity stages (the won
stage is discovered from OpportunityStage where IsWon = true, never assumed to be "Closed Won")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from integrations.salesforce.client import SalesforceClient, api_usage
from mlconnector.connections import services
from mlconnector.http import Rejected

DEFAULT_ACCOUNT_FIELD = "FreshBooks_Client_Id__c"
DEFAULT_INVOICE_FIELD = "FreshBooks_Invoice_Id__c"
DEFAULT_PAID_FIELD = "FreshBooks_Paid_Amount__c"
DEFAULT_EMAIL_FIELD = "FreshBooks_Email__c"
DEFAULT_OPEN_STAGE = "Negotiation/Review"
STAGES_SOQL = (
    "SELECT ApiName, MasterLabel, IsClosed, IsWon, SortOrder FROM OpportunityStage WHERE IsActive = true "
    "ORDER BY SortOrder"
)
WON_SOQL = (
    "SELECT ApiName, MasterLabel FROM OpportunityStage WHERE IsActive = true AND IsClosed = true AND IsWon = true "
    "ORDER BY SortOrder"
)


@dataclass(frozen=True)
class Fields:
    account: str
    invoice: str
    paid: str
    email: str
    open_stage: str


def fields(conn) -> Fields:
    return fields_from(conn.config or {})


def fields_from(c: dict) -> Fields:
    return Fields(
        account=c.get("account_external_field") or DEFAULT_ACCOUNT_FIELD,
        invoice=c.get("opportunity_external_field") or DEFAULT_INVOICE_FIELD,
        paid=c.get("paid_field") or DEFAULT_PAID_FIELD,
        email=c.get("email_field") or DEFAULT_EMAIL_FIELD,
        open_stage=c.get("open_stage") or DEFAULT_OPEN_STAGE,
    )


def usage(conn) -> dict | None:
    """The org's daily API requests as its last answer's Sforce-Limit-Info said (kept in the cache, no
    call made): {used, max, percent, low, at}, or None before any answer reported it."""
    found = api_usage(conn.pk)
    if not found or not found.get("max"):
        return None
    used, most = int(found["used"]), int(found["max"])
    return {
        "used": used,
        "max": most,
        "percent": round(100 * used / most),
        "low": (most - used) / most < settings.SALESFORCE_LOW_ALLOWANCE,
        "at": datetime.fromtimestamp(found["at"], UTC) if found.get("at") else None,
    }


def _label(api_name: str) -> str:
    return api_name.removesuffix("__c").replace("_", " ")


def missing_field(sobject: str, field: str, problem: str = "missing") -> dict:
    """What to create, exactly, and what happens until then."""
    what = (
        "FreshBooks clients (and the invoices that need their Account)"
        if sobject == "Account"
        else ("FreshBooks invoices and payments")
    )
    return {
        "sobject": sobject,
        "field": field,
        "problem": problem,
        "type": "Text (255), External ID, Unique",
        "label": _label(field),
        "name": field.removesuffix("__c"),
        "until": f"{what} are not written to Salesforce: their deliveries fail with this reason, and can be "
        "replayed from the audit log once the field exists.",
    }


def _optional(sobject: str, field: str, kind: str, why: str) -> dict:
    return {
        "sobject": sobject,
        "field": field,
        "type": kind,
        "label": _label(field),
        "name": field.removesuffix("__c"),
        "why": why,
    }


def inspect(client: SalesforceClient, f: Fields) -> dict:
    """Describe Account and Opportunity and read the stages (three calls): the config to keep."""
    described = {s: {x["name"]: x for x in client.describe(s).get("fields", [])} for s in ("Account", "Opportunity")}
    missing, optional = [], []
    for sobject, name in (("Account", f.account), ("Opportunity", f.invoice)):
        spec = described[sobject].get(name)
        if spec is None:
            missing.append(missing_field(sobject, name))
        elif not spec.get("externalId"):
            missing.append(missing_field(sobject, name, "not an External ID"))
    present = {s: sorted(d) for s, d in described.items()}
    if f.email not in described["Account"]:
        optional.append(_optional("Account", f.email, "Email", "to keep each client's email on its Account"))
    if f.paid not in described["Opportunity"]:
        optional.append(
            _optional(
                "Opportunity", f.paid, "Currency (16, 2)", "to show how much of a partly paid invoice is paid so far"
            )
        )
    stages = list(client.query(STAGES_SOQL))
    return {
        "missing_fields": missing,
        "optional_fields": optional,
        "has_email_field": f.email in described["Account"],
        "has_paid_field": f.paid in described["Opportunity"],
        "multi_currency": "CurrencyIsoCode" in described["Opportunity"],
        "open_stages": [s["ApiName"] for s in stages if not s.get("IsClosed")],
        "won_stage": next((s["ApiName"] for s in stages if s.get("IsWon")), ""),
        "checked_fields": {"Account": f.account, "Opportunity": f.invoice},
        "_present": present,
    }


def refresh(conn, client: SalesforceClient, *, actor=None, message: str = "") -> dict:
    found = inspect(client, fields(conn))
    found.pop("_present", None)
    services.update_config(conn, found, actor=actor, message=message or "Salesforce org fields and stages re-read")
    return found


def won_stage(conn, client: SalesforceClient, *, fresh: bool = False) -> str:
    """The won stage's API name, discovered from OpportunityStage (IsWon = true); re-read when asked."""
    known = (conn.config or {}).get("won_stage")
    if known and not fresh:
        return known
    rows = list(client.query(WON_SOQL))
    if not rows:
        raise Rejected("This Salesforce org has no active won stage (OpportunityStage with IsWon = true).")
    stage = rows[0].get("ApiName") or rows[0].get("MasterLabel")
    if stage != known:
        services.update_config(
            conn,
            {"won_stage": stage},
            message=f"Salesforce won stage discovered: “{stage}”" + (f" (was “{known}”)" if known else ""),
        )
    return stage


def note_missing(conn, sobject: str, field: str) -> dict:
    """An upsert found the external-id field missing: say so on the connection page."""
    entry = missing_field(sobject, field)
    current = [m for m in (conn.config or {}).get("missing_fields", []) if m.get("field") != field]
    services.update_config(
        conn, {"missing_fields": [*current, entry]}, message=f"Salesforce field {sobject}.{field} is missing"
    )
    return entry


def missing_message(entry: dict) -> str:
    where = f"{entry['sobject']}.{entry['field']}"
    problem = (
        f"The Salesforce org has no field {where}."
        if entry.get("problem", "missing") == "missing"
        else f"The Salesforce field {where} is not marked External ID."
    )
    return (
        f"{problem} Create it in Setup → Object Manager → {entry['sobject']} → Fields & Relationships → New: "
        f"type {entry['type']}, field name {entry['name']} (API name {entry['field']}). Until then {entry['until']}"
    )
