"""The custom properties ml-connector writes, created in a "FreshBooks" property group if absent.

Balance properties on contacts and companies (what the sales team reads on the record), and one
property per object type holding the FreshBooks id, created with unique values so a batch upsert can
find the record again (`idProperty`; HubSpot deduplicates companies by nothing else, trap 14).
https://developers.hubspot.com/docs/api/crm/properties
"""

from __future__ import annotations

from mlconnector.http import AuditContext, Rejected

GROUP = "freshbooks"
GROUP_LABEL = "FreshBooks"
# Bump when a property is added: connections re-check their schema once.
VERSION = 1


def _p(name: str, label: str, kind: str = "number", unique: bool = False, description: str = "") -> dict:
    field_type = {"number": "number", "date": "date", "string": "text"}[kind]
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": GROUP,
        "hasUniqueValue": unique,
        "description": description or f"{label}, kept current by ml-connector from FreshBooks.",
    }


BALANCE = [
    _p("freshbooks_total_invoiced", "FreshBooks total invoiced"),
    _p("freshbooks_outstanding", "FreshBooks outstanding"),
    _p("freshbooks_overdue", "FreshBooks overdue amount"),
    _p("freshbooks_last_payment_date", "FreshBooks last payment date", "date"),
    _p("freshbooks_last_payment_amount", "FreshBooks last payment amount"),
    _p("freshbooks_currency", "FreshBooks currency", "string"),
]
CLIENT_ID = _p(
    "freshbooks_client_id", "FreshBooks client id", "string", unique=True, description="The client's id in FreshBooks."
)
PROPERTIES: dict[str, list[dict]] = {
    "contacts": [CLIENT_ID, *BALANCE],
    "companies": [
        CLIENT_ID,
        _p(
            "freshbooks_vendor_id",
            "FreshBooks vendor id",
            "string",
            unique=True,
            description="The bill vendor's id in FreshBooks.",
        ),
        *BALANCE,
    ],
    "invoices": [
        _p("freshbooks_invoice_id", "FreshBooks invoice id", "string", unique=True),
        _p("freshbooks_invoice_number", "FreshBooks invoice number", "string"),
    ],
    "line_items": [_p("freshbooks_line_id", "FreshBooks invoice line", "string", unique=True)],
    "commerce_payments": [_p("freshbooks_payment_id", "FreshBooks payment id", "string", unique=True)],
}
CORE_TYPES = ("contacts", "companies", "commerce_payments")
INVOICE_TYPES = ("invoices", "line_items")


def ensure(client, object_types, audit: AuditContext | None = None) -> list[str]:
    """Create the group and the properties each type lacks; returns what was created, in words.
    Another worker may create the same ones at the same moment: a 409 CONFLICT means they are there."""
    made = []
    for object_type in object_types:
        groups = (
            client.call("GET", f"/crm/v3/properties/{object_type}/groups", what=f"{object_type} property groups") or {}
        )
        if GROUP not in {g.get("name") for g in groups.get("results") or []}:
            if _created(
                client,
                f"/crm/v3/properties/{object_type}/groups",
                {"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1},
            ):
                made.append(f"the {GROUP_LABEL} group on {object_type}")
        for _ in range(2):
            existing = client.call("GET", f"/crm/v3/properties/{object_type}", what=f"{object_type} properties") or {}
            names = {p.get("name") for p in existing.get("results") or []}
            wanted = [p for p in PROPERTIES[object_type] if p["name"] not in names]
            if not wanted:
                break
            if _created(client, f"/crm/v3/properties/{object_type}/batch/create", {"inputs": wanted}):
                made += [f"{object_type}.{p['name']}" for p in wanted]
                break
    return made


def _created(client, path: str, body: dict) -> bool:
    try:
        client.call("POST", path, json=body, what=f"create {path.rsplit('/', 2)[-2]} in HubSpot")
    except Rejected as exc:
        if exc.status != 409:
            raise
        return False  # made meanwhile by another worker: read again
    return True
