"""What ml-connector needs to know about the org, read with a few calls and kept in the
connection's config: the external-id fields (and the exact field to create when one is missing),
the optional fields it fills when they exist, multi-currency, the Opportunity stages (the won
stage is discovered from OpportunityStage where IsWon = true, never assumed to be "Closed Won"), and
whether the org has Order Management's Invoice with the two fields that link it to Opportunities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from integrations.salesforce.client import SalesforceClient, api_usage
from mlconnector.connections import services
from mlconnector.http import Rejected

# A custom field's API name: what the settings accept, and what is ever put into a SOQL query.
API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")
DEFAULT_ACCOUNT_FIELD = "FreshBooks_Client_Id__c"
DEFAULT_INVOICE_FIELD = "FreshBooks_Invoice_Id__c"
DEFAULT_PAID_FIELD = "FreshBooks_Paid_Amount__c"
DEFAULT_EMAIL_FIELD = "FreshBooks_Email__c"
DEFAULT_OPEN_STAGE = "Negotiation/Review"
# Order Management's Invoice (our reading of Salesforce's docs, README): the Invoice field holding the
# FreshBooks invoice id, and the Opportunity's Lookup(Invoice) that ml-connector fills.
DEFAULT_INVOICE_MATCH_FIELD = "FreshBooks_Invoice_Id__c"
DEFAULT_INVOICE_LOOKUP_FIELD = "FreshBooks_Salesforce_Invoice__c"
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
    invoice_match: str = DEFAULT_INVOICE_MATCH_FIELD
    invoice_lookup: str = DEFAULT_INVOICE_LOOKUP_FIELD


def fields(conn) -> Fields:
    return fields_from(conn.config or {})


def fields_from(c: dict) -> Fields:
    return Fields(
        account=c.get("account_external_field") or DEFAULT_ACCOUNT_FIELD,
        invoice=c.get("opportunity_external_field") or DEFAULT_INVOICE_FIELD,
        paid=c.get("paid_field") or DEFAULT_PAID_FIELD,
        email=c.get("email_field") or DEFAULT_EMAIL_FIELD,
        open_stage=c.get("open_stage") or DEFAULT_OPEN_STAGE,
        invoice_match=c.get("invoice_match_field") or DEFAULT_INVOICE_MATCH_FIELD,
        invoice_lookup=c.get("invoice_lookup_field") or DEFAULT_INVOICE_LOOKUP_FIELD,
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


INVOICE_MATCH_TYPE = "Text (255), External ID"
INVOICE_LOOKUP_TYPE = "Lookup Relationship to Invoice"
NOT_EDITABLE = "not editable by the connected app's Run As user"
LINK_UNTIL = (
    "Opportunities are still written, without their Salesforce Invoice; once the field exists and Test "
    "connection has checked the org again, each is linked by its next event or a replay."
)


def link_field(sobject: str, field: str, problem: str = "missing") -> dict:
    """A field the Invoice link needs: what to create, exactly. Never fails a delivery."""
    return {
        "sobject": sobject,
        "field": field,
        "problem": problem,
        "type": INVOICE_MATCH_TYPE if sobject == "Invoice" else INVOICE_LOOKUP_TYPE,
        "label": _label(field),
        "name": field.removesuffix("__c"),
        "until": LINK_UNTIL,
    }


def link_problems(f: Fields, invoice_fields: dict, opportunity_fields: dict) -> list[dict]:
    """What is wrong with the two fields of the Invoice link, from the describes already read."""
    problems = []
    if f.invoice_match not in invoice_fields:
        problems.append(link_field("Invoice", f.invoice_match))
    lookup = opportunity_fields.get(f.invoice_lookup)
    if lookup is None:
        problems.append(link_field("Opportunity", f.invoice_lookup))
    elif not (
        (lookup.get("type") == "reference" and "Invoice" in (lookup.get("referenceTo") or []))
        # UNCONFIRMED whether every org offers Lookup(Invoice) on Opportunity: a Text field of at least
        # 18 characters holding the Invoice's id is accepted too.
        or (lookup.get("type") == "string" and int(lookup.get("length") or 0) >= 18)
    ):
        problems.append(link_field("Opportunity", f.invoice_lookup, "not a Lookup(Invoice)"))
    elif lookup.get("updateable") is False:  # describe answers for the Run As user (field-level security)
        problems.append(link_field("Opportunity", f.invoice_lookup, NOT_EDITABLE))
    return problems


def link_message(entry: dict) -> str:
    where = f"{entry['sobject']}.{entry['field']}"
    problem = (
        f"The Salesforce org has no field {where}."
        if entry.get("problem", "missing") == "missing"
        else f"The Salesforce field {where} is {entry['problem']}."
    )
    return (
        f"{problem} Create it in Setup → Object Manager → {entry['sobject']} → Fields & Relationships → New: "
        f"type {entry['type']}, field name {entry['name']} (API name {entry['field']}). Until then {entry['until']}"
    )


def note_link_problem(conn, entry: dict) -> None:
    """A link field went missing since the org was inspected: stop linking and say what to create."""
    current = [m for m in (conn.config or {}).get("invoice_link_missing", []) if m.get("field") != entry["field"]]
    services.update_config(
        conn,
        {"invoice_link_missing": [*current, entry], "invoice_link": False},
        message=f"Salesforce Invoice link paused: {entry['sobject']}.{entry['field']} is {entry['problem']}",
    )


def inspect(client: SalesforceClient, f: Fields) -> dict:
    """Describe Account and Opportunity, list the org's objects (is Order Management's Invoice
    there?), describe Invoice when it is, and read the stages (four or five calls): the config to keep."""
    described = {s: {x["name"]: x for x in client.describe(s).get("fields", [])} for s in ("Account", "Opportunity")}
    order_management = "Invoice" in client.sobject_names()
    link_missing: list[dict] = []
    if order_management:
        invoice_fields = {x["name"]: x for x in client.describe("Invoice").get("fields", [])}
        link_missing = link_problems(f, invoice_fields, described["Opportunity"])
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
        "order_management": order_management,
        "invoice_link": order_management and not link_missing,
        "invoice_link_missing": link_missing,
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
