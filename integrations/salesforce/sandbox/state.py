"""The fake Salesforce's state: orgs (one per My Domain host), their sObjects, sessions and counters.

An org is a SandboxAccount keyed by its My Domain host; its records are SandboxObject rows (kind =
the sObject name, object_id = the record's 18-character id). The org's settings, which a person
changes on the console, live in the account's `data`:

  name, org_id, api_enabled, max_version, daily_limit, session_seconds, currency, multi_currency,
  run_as_user (the connected app's client-credentials user is set), consumer_keys,
  stages (OpportunityStage rows), fields (custom fields per sObject: name -> spec),
  validation ({sObject: message}: an active validation rule refusing records without a billing
  country), query_batch (records per query batch, 2000 like Salesforce), order_management (the org
  has the Order Management licence: the standard `Invoice` object exists, read-only to the API, its
  records made on the console as Order Management makes them from order summaries).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F

from integrations.sandbox import tokens
from integrations.sandbox.models import SandboxAccount, SandboxCounter, SandboxObject

PROVIDER = "salesforce"
DEMO_HOST = "mlconnector-demo.my.salesforce.com"
DEMO_SANDBOX_HOST = "mlconnector-demo--uat.sandbox.my.salesforce.com"
DEMO_NAMES = {DEMO_HOST: "ML Connector Demo", DEMO_SANDBOX_HOST: "ML Connector Demo (UAT sandbox)"}
CONSUMER_KEY = "3MVG9sandbox.ml-connector.demo.consumer-key.0001"
CONSUMER_SECRET = "sandbox-salesforce-consumer-secret-not-real-0001"
# Salesforce's own login hosts: the client-credentials flow is refused there (vendors doc §3.1).
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
# Salesforce retired v21.0-v30.0 in 2025; every later version still answers.
VERSIONS = tuple(f"{n}.0" for n in range(31, 67))
RELEASES = {"66.0": "Spring '26", "65.0": "Winter '26", "64.0": "Summer '25", "63.0": "Spring '25"}

EXTERNAL_CLIENT_FIELD = "FreshBooks_Client_Id__c"
EXTERNAL_INVOICE_FIELD = "FreshBooks_Invoice_Id__c"
PAID_FIELD = "FreshBooks_Paid_Amount__c"
EMAIL_FIELD = "FreshBooks_Email__c"
INVOICE_MATCH_FIELD = "FreshBooks_Invoice_Id__c"  # on Invoice: the FreshBooks invoice id
INVOICE_LOOKUP_FIELD = "FreshBooks_Salesforce_Invoice__c"  # on Opportunity: Lookup(Invoice)

# (label, closed, won, sort order, default probability): Salesforce's default sales process.
DEFAULT_STAGES = (
    ("Prospecting", False, False, 1, 10),
    ("Qualification", False, False, 2, 10),
    ("Needs Analysis", False, False, 3, 20),
    ("Value Proposition", False, False, 4, 50),
    ("Id. Decision Makers", False, False, 5, 60),
    ("Perception Analysis", False, False, 6, 70),
    ("Proposal/Price Quote", False, False, 7, 75),
    ("Negotiation/Review", False, False, 8, 90),
    ("Closed Won", True, True, 9, 100),
    ("Closed Lost", True, False, 10, 0),
)

KEY_PREFIXES = {
    "Account": "001",
    "Opportunity": "006",
    "OpportunityStage": "01J",
    "Organization": "00D",
    "Order": "801",
    "Invoice": "3tt",
}

# Standard fields: name -> (type, createable/updateable, required on create, max length)
STANDARD_FIELDS: dict[str, dict[str, tuple[str, bool, bool, int]]] = {
    "Account": {
        "Id": ("id", False, False, 18),
        "Name": ("string", True, True, 255),
        "Phone": ("phone", True, False, 40),
        "Website": ("url", True, False, 255),
        "Description": ("textarea", True, False, 32000),
        "BillingStreet": ("textarea", True, False, 255),
        "BillingCity": ("string", True, False, 40),
        "BillingState": ("string", True, False, 80),
        "BillingPostalCode": ("string", True, False, 20),
        "BillingCountry": ("string", True, False, 80),
        "CreatedDate": ("datetime", False, False, 0),
        "LastModifiedDate": ("datetime", False, False, 0),
    },
    "Opportunity": {
        "Id": ("id", False, False, 18),
        "Name": ("string", True, True, 120),
        "AccountId": ("reference", True, False, 18),
        "Amount": ("currency", True, False, 0),
        "CloseDate": ("date", True, True, 0),
        "StageName": ("picklist", True, True, 255),
        "Probability": ("percent", True, False, 0),
        "Description": ("textarea", True, False, 32000),
        "IsClosed": ("boolean", False, False, 0),
        "IsWon": ("boolean", False, False, 0),
        "CreatedDate": ("datetime", False, False, 0),
        "LastModifiedDate": ("datetime", False, False, 0),
    },
    "OpportunityStage": {
        "Id": ("id", False, False, 18),
        "ApiName": ("string", False, False, 255),
        "MasterLabel": ("string", False, False, 255),
        "IsActive": ("boolean", False, False, 0),
        "IsClosed": ("boolean", False, False, 0),
        "IsWon": ("boolean", False, False, 0),
        "SortOrder": ("int", False, False, 0),
        "DefaultProbability": ("percent", False, False, 0),
    },
    "Organization": {
        "Id": ("id", False, False, 18),
        "Name": ("string", False, False, 80),
        "IsSandbox": ("boolean", False, False, 0),
        "DefaultLocaleSidKey": ("string", False, False, 40),
    },
    "Order": {
        "Id": ("id", False, False, 18),
        "AccountId": ("reference", True, True, 18),
        "OrderNumber": ("string", False, False, 30),
        "Status": ("picklist", True, True, 40),
        "EffectiveDate": ("date", True, True, 0),
        "TotalAmount": ("currency", False, False, 0),
    },
    # Order Management's Invoice (API v48.0+): query, retrieve and update only; Order Management
    # creates them from order summaries. Only in orgs with order_management on.
    "Invoice": {
        "Id": ("id", False, False, 18),
        "BillingAccountId": ("reference", False, False, 18),
        "DocumentNumber": ("string", False, False, 255),
        "InvoiceNumber": ("string", False, False, 255),
        "ReferenceEntityId": ("reference", False, False, 18),
        "Status": ("picklist", False, False, 255),
        "InvoiceDate": ("date", False, False, 0),
        "DueDate": ("date", False, False, 0),
        "TotalAmount": ("currency", False, False, 0),
        "TotalAmountWithTax": ("currency", False, False, 0),
        "Balance": ("currency", False, False, 0),
        "CreatedDate": ("datetime", False, False, 0),
        "LastModifiedDate": ("datetime", False, False, 0),
    },
}
WRITABLE = ("Account", "Opportunity", "Order")
QUERY_ONLY = ("OpportunityStage", "Organization")
UPDATE_ONLY = ("Invoice",)
# Objects an org has only with a licence: sObject -> the org's flag.
LICENSED = {"Invoice": "order_management"}
REFERENCES = {"AccountId": "Account", "BillingAccountId": "Account"}

DEFAULT_CUSTOM_FIELDS = {
    "Account": {
        EXTERNAL_CLIENT_FIELD: {"type": "string", "externalId": True, "unique": True, "length": 255},
        EMAIL_FIELD: {"type": "email", "externalId": False, "unique": False, "length": 80},
    },
    "Opportunity": {
        EXTERNAL_INVOICE_FIELD: {"type": "string", "externalId": True, "unique": True, "length": 255},
        PAID_FIELD: {"type": "currency", "externalId": False, "unique": False, "length": 0},
    },
}

# What an admin creates to link each Opportunity to its Invoice (ml-connector's README).
ORDER_MANAGEMENT_FIELDS = {
    "Invoice": {
        INVOICE_MATCH_FIELD: {"type": "string", "externalId": True, "unique": False, "length": 255},
    },
    "Opportunity": {
        INVOICE_LOOKUP_FIELD: {"type": "reference", "referenceTo": ["Invoice"], "length": 18},
    },
}

_ids = itertools.count()


class SalesforceError(Exception):
    """An error Salesforce answers with: a list of {message, errorCode, fields} and a status."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[dict]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


# --- orgs ------------------------------------------------------------------------------------


def default_org_data(name: str, *, sandbox: bool = False) -> dict:
    return {
        "name": name,
        "org_id": new_id("Organization"),
        "user_id": "005" + secrets.token_hex(6).upper()[:12] + "AAA",
        "is_sandbox": sandbox,
        "api_enabled": True,
        "run_as_user": True,
        "max_version": VERSIONS[-1],
        "daily_limit": 100000,
        "session_seconds": 7200,
        "currency": "USD",
        "multi_currency": False,
        "consumer_keys": [CONSUMER_KEY],
        "stages": [
            {
                "Id": new_id("OpportunityStage"),
                "ApiName": label,
                "MasterLabel": label,
                "IsActive": True,
                "IsClosed": closed,
                "IsWon": won,
                "SortOrder": order,
                "DefaultProbability": probability,
            }
            for label, closed, won, order, probability in DEFAULT_STAGES
        ],
        "fields": {k: dict(v) for k, v in DEFAULT_CUSTOM_FIELDS.items()},
        "validation": {},
        "query_batch": 2000,
        "order_management": False,
    }


def ensure_org(host: str = DEMO_HOST, name: str = "ML Connector Demo", *, sandbox: bool = False) -> SandboxAccount:
    tokens.ensure_app(PROVIDER, CONSUMER_KEY, CONSUMER_SECRET, name="ml-connector (client credentials)")
    org, created = SandboxAccount.objects.get_or_create(
        provider=PROVIDER, key=host, defaults={"name": name, "data": default_org_data(name, sandbox=sandbox)}
    )
    return org


def org_for(host: str) -> SandboxAccount | None:
    return SandboxAccount.objects.filter(provider=PROVIDER, key=host.lower()).first()


def save_org(org: SandboxAccount) -> None:
    SandboxAccount.objects.filter(pk=org.pk).update(data=org.data, name=org.data.get("name", org.name))


def reset(host: str = DEMO_HOST) -> SandboxAccount:
    """The org as seeded: default settings, no records, no sessions, usage at zero."""
    SandboxAccount.objects.filter(provider=PROVIDER, key=host).delete()
    SandboxCounter.objects.filter(key=usage_key(host)).delete()
    return ensure_org(host, DEMO_NAMES.get(host, host.split(".")[0]), sandbox=".sandbox." in host)


# --- ids, fields -------------------------------------------------------------------------------


def new_id(sobject: str) -> str:
    prefix = KEY_PREFIXES.get(sobject, "a00")
    return f"{prefix}Dm{secrets.token_hex(4).upper()}{next(_ids) % 10000:04d}AAE"[:18]


def has_object(org: SandboxAccount, sobject: str) -> bool:
    """Standard objects every org has, and the licensed ones (Invoice) when the org has the licence."""
    return sobject in STANDARD_FIELDS and bool(org.data.get(LICENSED[sobject], False) if sobject in LICENSED else True)


def fields_of(org: SandboxAccount, sobject: str) -> dict[str, dict]:
    """Every field of an sObject in this org: standard ones, then the org's custom fields."""
    out: dict[str, dict] = {}
    for name, (ftype, writable, required, length) in STANDARD_FIELDS[sobject].items():
        out[name] = {
            "referenceTo": [REFERENCES[name]] if name in REFERENCES else [],
            "name": name,
            "type": ftype,
            "createable": writable,
            "updateable": writable,
            "nillable": not required and name != "Id",
            "required": required,
            "length": length,
            "externalId": False,
            "unique": False,
            "custom": False,
        }
    if sobject == "Opportunity" and org.data.get("multi_currency"):
        out["CurrencyIsoCode"] = {
            **out["Name"],
            "name": "CurrencyIsoCode",
            "type": "picklist",
            "required": False,
            "nillable": True,
            "length": 3,
        }
    for name, spec in (org.data.get("fields") or {}).get(sobject, {}).items():
        out[name] = {
            "name": name,
            "type": spec["type"],
            # field-level security: a field the Run As user may not edit ({"editable": False})
            "createable": spec.get("editable", True),
            "updateable": spec.get("editable", True),
            "nillable": True,
            "required": False,
            "length": spec.get("length", 0),
            "externalId": bool(spec.get("externalId")),
            "unique": bool(spec.get("unique")),
            "custom": True,
            "referenceTo": list(spec.get("referenceTo") or []),
        }
    return out


def describe(org: SandboxAccount, sobject: str, version: str) -> dict:
    fields = fields_of(org, sobject)
    stages = active_stages(org) if sobject == "Opportunity" else []
    return {
        "name": sobject,
        "label": sobject,
        "custom": False,
        "keyPrefix": KEY_PREFIXES.get(sobject),
        "createable": sobject in WRITABLE,
        "updateable": sobject in WRITABLE,
        "queryable": True,
        "fields": [
            {
                "name": f["name"],
                "label": f["name"].replace("__c", "").replace("_", " "),
                "type": f["type"],
                "length": f["length"],
                "createable": f["createable"],
                "updateable": f["updateable"],
                "nillable": f["nillable"],
                "externalId": f["externalId"],
                "unique": f["unique"],
                "custom": f["custom"],
                "idLookup": f["externalId"] or f["name"] == "Id",
                "referenceTo": f.get("referenceTo", []),
                "picklistValues": [
                    {"value": s["ApiName"], "label": s["MasterLabel"], "active": True, "defaultValue": False}
                    for s in stages
                ]
                if f["name"] == "StageName"
                else [],
            }
            for f in fields.values()
        ],
        "urls": {
            "sobject": f"/services/data/v{version}/sobjects/{sobject}",
            "describe": f"/services/data/v{version}/sobjects/{sobject}/describe",
            "rowTemplate": f"/services/data/v{version}/sobjects/{sobject}/{{ID}}",
        },
    }


def active_stages(org: SandboxAccount) -> list[dict]:
    return sorted((s for s in org.data["stages"] if s["IsActive"]), key=lambda s: s["SortOrder"])


# --- records -------------------------------------------------------------------------------------


def records(org: SandboxAccount, sobject: str):
    return SandboxObject.objects.filter(provider=PROVIDER, account=org, kind=sobject)


def by_id(org: SandboxAccount, sobject: str, record_id: str) -> SandboxObject | None:
    # 15- and 18-character ids name the same record.
    return records(org, sobject).filter(object_id__startswith=record_id[:15]).first()


def _index_key(sobject: str, field: str, value: str) -> str:
    key = f"{sobject}:{field}:{value}"
    return key if len(key) <= 64 else hashlib.sha1(key.encode()).hexdigest()  # noqa: S324 - a key, not a secret


def index(org: SandboxAccount, record: SandboxObject) -> None:
    """Keep the record findable by each of its external ids (an upsert looks one up per record; a
    scan of every record's JSON made a 10,000-record backfill quadratic)."""
    for name, spec in fields_of(org, record.kind).items():
        value = record.data.get(name)
        if not spec["externalId"] or value in (None, ""):
            continue
        row, _ = SandboxObject.objects.get_or_create(
            provider=PROVIDER,
            account=org,
            kind="_ExternalId",
            object_id=_index_key(record.kind, name, str(value)),
            defaults={"data": {"ids": []}},
        )
        if record.object_id not in row.data["ids"]:
            row.data["ids"].append(record.object_id)
            row.save(update_fields=["data"])


def by_external_id(org: SandboxAccount, sobject: str, field: str, value: str) -> list[SandboxObject]:
    row = records(org, "_ExternalId").filter(object_id=_index_key(sobject, field, str(value))).first()
    if row is None:
        return []
    found = records(org, sobject).filter(object_id__in=row.data["ids"]).order_by("id")
    return [r for r in found if str(r.data.get(field)) == str(value)][:5]


def query_rows(org: SandboxAccount, sobject: str) -> list[dict]:
    if sobject == "OpportunityStage":
        return [dict(s) for s in org.data["stages"]]
    if sobject == "Organization":
        return [
            {
                "Id": org.data["org_id"],
                "Name": org.data["name"],
                "IsSandbox": bool(org.data.get("is_sandbox")),
                "DefaultLocaleSidKey": "en_US",
            }
        ]
    return [dict(r.data, Id=r.object_id) for r in records(org, sobject).order_by("id")]


def create_invoice(org: SandboxAccount, data: dict) -> SandboxObject:
    """An Invoice as Order Management makes one (the API cannot create them): numbered, posted."""
    count = records(org, "Invoice").count()
    now = _now()
    body = {
        "DocumentNumber": f"INV-{count + 1:08d}",
        "InvoiceNumber": f"INV-{count + 1:08d}",
        "Status": "Posted",
        "InvoiceDate": now[:10],
        "CreatedDate": now,
        "LastModifiedDate": now,
        **{k: v for k, v in data.items() if v not in (None, "")},
    }
    created = SandboxObject.objects.create(
        provider=PROVIDER, account=org, kind="Invoice", object_id=new_id("Invoice"), data=body
    )
    index(org, created)
    return created


def delete_record(org: SandboxAccount, sobject: str, record_id: str) -> bool:
    """Delete a record; custom lookups pointing at it are cleared ("Clear the value of this field")."""
    found = by_id(org, sobject, record_id)
    if found is None:
        return False
    for kind, specs in (org.data.get("fields") or {}).items():
        for name, spec in specs.items():
            if sobject in (spec.get("referenceTo") or []):
                for row in records(org, kind):
                    if row.data.get(name) == found.object_id:
                        row.data[name] = None
                        row.save(update_fields=["data"])
    found.delete()
    return True


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _check_value(sobject: str, field: dict, value) -> object:
    name, ftype = field["name"], field["type"]
    if value is None:
        return None
    if ftype in ("currency", "double", "percent", "int"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {ftype} from VALUE_STRING value {value}",
                [name],
            ) from None
        return number
    if ftype == "date":
        try:
            datetime.strptime(str(value), "%Y-%m-%d")
        except ValueError:
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of date from VALUE_STRING value {value}", [name]
            ) from None
        return str(value)
    if ftype == "boolean":
        return bool(value)
    text = str(value)
    if field["length"] and len(text) > field["length"]:
        raise SalesforceError(
            400,
            "STRING_TOO_LONG",
            f"{sobject} {name}: data value too large: {text[:40]} (max length={field['length']})",
            [name],
        )
    return text


def write(
    org: SandboxAccount,
    sobject: str,
    body: dict,
    *,
    existing: SandboxObject | None = None,
    set_fields: dict | None = None,
) -> SandboxObject:
    """Create (existing None) or update one record, enforcing what Salesforce enforces: known and
    writable fields, required fields, types and lengths, restricted picklists, lookups, active
    validation rules. Raises SalesforceError."""
    # Invoices are only updated through the API (their custom fields); Order Management creates them.
    if sobject not in WRITABLE and not (sobject in UPDATE_ONLY and existing is not None):
        raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported for this operation.")
    fields = fields_of(org, sobject)
    data = dict(existing.data) if existing is not None else {}
    for name, value in body.items():
        if name == "attributes":
            continue
        field = fields.get(name)
        if field is None:
            raise SalesforceError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
        if not (field["updateable"] if existing is not None else field["createable"]):
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings of this field and "
                "verify that it is read/write for your profile or permission set.",
                [name],
            )
        data[name] = _check_value(sobject, field, value)
    for name, value in (set_fields or {}).items():
        data[name] = value
    missing = [n for n, f in fields.items() if f["required"] and data.get(n) in (None, "")]
    if missing:
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )
    if sobject == "Opportunity":
        stage = next((s for s in active_stages(org) if s["ApiName"] == data["StageName"]), None)
        if stage is None:
            raise SalesforceError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Stage: bad value for restricted picklist field: {data['StageName']}",
                ["StageName"],
            )
        data["IsClosed"], data["IsWon"] = stage["IsClosed"], stage["IsWon"]
        if "Probability" not in body:
            data["Probability"] = stage["DefaultProbability"]
        if data.get("CurrencyIsoCode") is None and org.data.get("multi_currency"):
            data["CurrencyIsoCode"] = org.data.get("currency", "USD")
    for name, field in fields.items():
        # Lookups (AccountId, a custom Lookup(Invoice)) must name a record of the object they point to.
        targets = field.get("referenceTo") or []
        # A lookup is checked when it is written (AccountId always, as before): deleting a record clears
        # the lookups pointing at it (delete_record), as Salesforce's default lookup option does.
        if not data.get(name) or not targets or (name not in body and name != "AccountId"):
            continue
        if not any(has_object(org, t) and by_id(org, t, str(data[name])) is not None for t in targets):
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {data[name]}", [name]
            )
    rule = (org.data.get("validation") or {}).get(sobject)
    if rule and not data.get("BillingCountry"):
        raise SalesforceError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule, [])
    data = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}
    data["LastModifiedDate"] = _now()
    if existing is not None:
        SandboxObject.objects.filter(pk=existing.pk).update(data=data)
        existing.data = data
        index(org, existing)
        return existing
    data["CreatedDate"] = data["LastModifiedDate"]
    if sobject == "Order":
        data["OrderNumber"] = f"{records(org, 'Order').count() + 100:08d}"
    created = SandboxObject.objects.create(
        provider=PROVIDER, account=org, kind=sobject, object_id=new_id(sobject), data=data
    )
    index(org, created)
    return created


NUMBER_TYPES = ("currency", "double", "percent", "int")


def as_json_values(org: SandboxAccount, sobject: str, data: dict) -> dict:
    """Number fields go back as JSON numbers, the rest as stored."""
    types = {name: f["type"] for name, f in fields_of(org, sobject).items()}
    out = {}
    for name, value in data.items():
        if types.get(name) in NUMBER_TYPES and value not in (None, ""):
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                pass
        out[name] = value
    return out


def as_sobject(record: SandboxObject, version: str) -> dict:
    url = f"/services/data/v{version}/sobjects/{record.kind}/{record.object_id}"
    return {
        "attributes": {"type": record.kind, "url": url},
        **as_json_values(record.account, record.kind, record.data),
        "Id": record.object_id,
    }


# --- API usage (the org's rolling 24-hour allowance) -----------------------------------------


def usage_key(host: str) -> str:
    return f"{PROVIDER}:{host}:api-usage"


def usage(org: SandboxAccount) -> tuple[int, int]:
    row = SandboxCounter.objects.filter(key=usage_key(org.key)).first()
    return int(row.value if row else 0), int(org.data["daily_limit"])


def count_call(org: SandboxAccount) -> tuple[int, int]:
    """One more API request against the org's allowance; raises 403 REQUEST_LIMIT_EXCEEDED past it."""
    key = usage_key(org.key)
    with transaction.atomic():
        SandboxCounter.objects.get_or_create(key=key)
        used, limit = usage(org)
        if used >= limit:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        SandboxCounter.objects.filter(key=key).update(value=F("value") + 1)
    return used + 1, limit


def set_usage(org: SandboxAccount, used: int) -> None:
    SandboxCounter.objects.update_or_create(key=usage_key(org.key), defaults={"value": used})
