"""The HubSpot sandbox's CRM: object types, their properties and property groups, records with
string-typed properties, unique values (a contact's email, custom properties created with unique
values), associations, and the invoice state rules.

Storage (SandboxObject rows of provider "hubspot", per portal):
  kind <type>              a record: data = {properties, createdAt, updatedAt, archived}
  kind u:<typeId>:<prop>   the unique-value index: object_id = the value (hashed past 64 chars)
  kind assoc               one direction of an association: "<fromTypeId>:<fromId>:<toTypeId>:<toId>"
  kind prop:<type>         a custom property definition; kind group:<type> a property group
Wire facts: ../shared/vendors/monday-hubspot-slack.md §2 (traps 13-21).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction

from integrations.hubspot.sandbox.state import PROVIDER, HubSpotError, allocate_ids, require_scope, setting
from integrations.sandbox.models import SandboxAccount, SandboxObject


@dataclass(frozen=True)
class ObjectType:
    name: str
    type_id: str
    label: str
    scope: str  # crm.objects.<scope>.read / .write
    builtin: dict[str, dict] = field(default_factory=dict)
    defaults: tuple[str, ...] = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
    writable: bool = True


def _p(kind="string", ro=False, unique=False, options=None, label="", group="") -> dict:
    return {"type": kind, "readOnly": ro, "unique": unique, "options": options or [], "label": label, "group": group}


_COMMON = {
    "hs_object_id": _p("number", ro=True),
    "hs_createdate": _p("datetime", ro=True),
    "hs_lastmodifieddate": _p("datetime", ro=True),
    "createdate": _p("datetime", ro=True),
}
INVOICE_STATUSES = ["draft", "open", "paid", "voided"]
TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in [
        ObjectType(
            "contacts",
            "0-1",
            "Contact",
            "contacts",
            {
                **_COMMON,
                "lastmodifieddate": _p("datetime", ro=True),
                "email": _p(unique=True),
                **{
                    n: _p()
                    for n in "firstname lastname phone mobilephone company website address city state zip"
                    " country".split()
                },
                "lifecyclestage": _p("enumeration", options=["subscriber", "lead", "opportunity", "customer", "other"]),
            },
            defaults=("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ),
        ObjectType(
            "companies",
            "0-2",
            "Company",
            "companies",
            {
                **_COMMON,
                **{n: _p() for n in "name domain phone address city state zip country website industry".split()},
            },
            defaults=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ),
        ObjectType(
            "line_items",
            "0-8",
            "Line item",
            "line_items",
            {
                **_COMMON,
                "name": _p(),
                "description": _p(),
                "quantity": _p("number"),
                "price": _p("number"),
                "amount": _p("number", ro=True),
                "tax": _p("number"),
                "hs_sku": _p(),
                "hs_line_item_currency_code": _p(),
            },
        ),
        ObjectType(
            "invoices",
            "0-53",
            "Invoice",
            "invoices",
            {
                **_COMMON,
                "hs_currency": _p(),
                "hs_invoice_date": _p("date"),
                "hs_due_date": _p("date"),
                "hs_invoice_status": _p("enumeration", options=INVOICE_STATUSES),
                "hs_title": _p(),
                "hs_number": _p(ro=True),
                "hs_purchase_order_number": _p(),
                "hs_comments": _p(),
                "hs_amount_billed": _p("number", ro=True),
                "hs_amount_paid": _p("number", ro=True),
                "hs_balance_due": _p("number", ro=True),
            },
        ),
        ObjectType(
            "commerce_payments",
            "0-101",
            "Payment",
            "commercepayments",
            {
                **_COMMON,
                "hs_initial_amount": _p("number"),
                "hs_currency_code": _p(),
                "hs_latest_status": _p("enumeration", options=["succeeded", "processing", "failed", "refunded"]),
                "hs_payment_method_type": _p(),
                "hs_processed_date": _p("datetime"),
                "hs_reference_number": _p(),
                "hs_customer_email": _p(),
            },
        ),
    ]
}
# The legacy payments object reads the same records and takes no writes (vendors doc trap 20).
TYPES["payments"] = ObjectType(
    "payments", "0-101", "Payment", "commercepayments", TYPES["commerce_payments"].builtin, writable=False
)
_BY_ID = {t.type_id: t for t in TYPES.values() if t.name != "payments"}
_SINGULAR = {"contact": "contacts", "company": "companies", "invoice": "invoices", "line_item": "line_items"}
_SINGULAR |= {"commerce_payment": "commerce_payments", "payment": "commerce_payments"}

# HUBSPOT_DEFINED default association type ids, both directions. contact<->company 279/280 are in
# HubSpot's docs; the rest are UNCONFIRMED (vendors doc §2.5: use the default endpoints).
DEFAULT_ASSOCIATIONS = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("invoices", "contacts"): 177,
    ("contacts", "invoices"): 178,
    ("invoices", "companies"): 179,
    ("companies", "invoices"): 180,
    ("invoices", "line_items"): 409,
    ("line_items", "invoices"): 410,
    ("commerce_payments", "invoices"): 547,
    ("invoices", "commerce_payments"): 548,
    ("commerce_payments", "contacts"): 549,
    ("contacts", "commerce_payments"): 550,
    ("commerce_payments", "companies"): 551,
    ("companies", "commerce_payments"): 552,
}


def object_type(name: str) -> ObjectType:
    name = str(name)
    found = TYPES.get(name) or _BY_ID.get(name) or TYPES.get(_SINGULAR.get(name, ""))
    if found is None:
        raise HubSpotError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
    return found


def check_write_allowed(account: SandboxAccount, token, otype: ObjectType) -> None:
    require_scope(token, f"crm.objects.{otype.scope}.write")
    if otype.name != "invoices":
        return
    mode = setting(account, "invoices")
    if mode == "missing_scope":  # as if the private app had been made without the invoice write scope
        raise HubSpotError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
            "here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredScopes": ["crm.objects.invoices.write"]},
                }
            ],
            context={"missingScopes": ["crm.objects.invoices.write"]},
        )
    elif mode == "not_enabled":
        raise HubSpotError(
            400,
            "Invoices are not enabled for this account. "
            "Set up invoices in HubSpot before creating them through the API.",
            "FEATURE_NOT_ENABLED",
            sub_category="InvoiceError.INVOICES_NOT_ENABLED",
        )


# --- properties ---------------------------------------------------------------------------------


def properties(account: SandboxAccount, otype: ObjectType) -> dict[str, dict]:
    custom = {
        r.object_id: r.data
        for r in SandboxObject.objects.filter(provider=PROVIDER, account=account, kind=f"prop:{otype.name}")
    }
    return {**otype.builtin, **custom}


def groups(account: SandboxAccount, otype: ObjectType) -> dict[str, dict]:
    builtin = {
        f"{otype.label.lower()}information": {
            "name": f"{otype.label.lower()}information",
            "label": f"{otype.label} information",
            "displayOrder": -1,
        }
    }
    custom = {
        r.object_id: r.data
        for r in SandboxObject.objects.filter(provider=PROVIDER, account=account, kind=f"group:{otype.name}")
    }
    return {**builtin, **custom}


PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}


def create_property(account: SandboxAccount, otype: ObjectType, body: dict) -> dict:
    name = str(body.get("name") or "")
    if not name or not name.replace("_", "").isalnum() or name != name.lower():
        raise HubSpotError(400, f"Property name '{name}' is not valid: use lower case letters, digits and _.")
    if name in properties(account, otype):
        raise HubSpotError(
            409,
            f"A property named '{name}' already exists.",
            "CONFLICT",
            extra={"subCategory": "ObjectDefinitionError.PROPERTY_EXISTS"},
        )
    kind = str(body.get("type") or "")
    if kind not in PROPERTY_TYPES:
        raise HubSpotError(400, f"Property type '{kind}' is not valid.")
    group = str(body.get("groupName") or "")
    if group not in groups(account, otype):
        raise HubSpotError(400, f"Property group '{group}' does not exist.")
    definition = {
        "name": name,
        "label": str(body.get("label") or name),
        "type": kind,
        "fieldType": str(body.get("fieldType") or "text"),
        "groupName": group,
        "description": str(body.get("description") or ""),
        "options": body.get("options") or [],
        "hasUniqueValue": bool(body.get("hasUniqueValue")),
        "unique": bool(body.get("hasUniqueValue")),
        "readOnly": False,
        "formField": bool(body.get("formField", False)),
        "hidden": bool(body.get("hidden", False)),
        "calculated": False,
        "externalOptions": False,
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
    }
    SandboxObject.objects.create(
        provider=PROVIDER, account=account, kind=f"prop:{otype.name}", object_id=name, data=definition
    )
    return definition


def create_group(account: SandboxAccount, otype: ObjectType, body: dict) -> dict:
    name = str(body.get("name") or "")
    if not name or name != name.lower():
        raise HubSpotError(400, f"Property group name '{name}' is not valid.")
    if name in groups(account, otype):
        raise HubSpotError(409, f"A property group named '{name}' already exists.", "CONFLICT")
    data = {
        "name": name,
        "label": str(body.get("label") or name),
        "displayOrder": int(body.get("displayOrder") or -1),
        "archived": False,
    }
    SandboxObject.objects.create(
        provider=PROVIDER, account=account, kind=f"group:{otype.name}", object_id=name, data=data
    )
    return data


def public_property(name: str, definition: dict, otype: ObjectType) -> dict:
    """A property as GET /crm/v3/properties/{objectType} returns it."""
    if "fieldType" in definition:
        return {k: v for k, v in definition.items() if k != "unique"}
    return {
        "name": name,
        "label": definition.get("label") or name.replace("_", " ").capitalize(),
        "type": definition["type"],
        "fieldType": {
            "number": "number",
            "date": "date",
            "datetime": "date",
            "enumeration": "select",
            "bool": "booleancheckbox",
        }.get(definition["type"], "text"),
        "groupName": f"{otype.label.lower()}information",
        "description": "",
        "options": [
            {"label": o, "value": o, "hidden": False, "displayOrder": n} for n, o in enumerate(definition["options"])
        ],
        "hasUniqueValue": definition["unique"],
        "calculated": definition["readOnly"],
        "externalOptions": False,
        "hidden": False,
        "formField": False,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": definition["readOnly"],
        },
    }


def _invalid(name: str, value, error: str, message: str) -> dict:
    return {"isValid": False, "message": message, "error": error, "name": name, "localizedErrorMessage": message}


def _check_value(name: str, value, definition: dict) -> dict | None:
    if value in (None, ""):
        return None  # an empty string clears a property
    text = str(value)
    kind = definition["type"]
    if name == "email" and (text.count("@") != 1 or "." not in text.split("@")[-1] or " " in text):
        return _invalid(name, value, "INVALID_EMAIL", f"Email address {text} is invalid")
    if kind == "number":
        try:
            Decimal(text)
        except InvalidOperation:
            return _invalid(
                name, value, "INVALID_LONG" if "." not in text else "INVALID_DOUBLE", f"{text} was not a valid number."
            )
    elif kind in ("date", "datetime"):
        if text.isdigit():
            if kind == "date" and int(text) % 86_400_000:
                return _invalid(
                    name,
                    value,
                    "INVALID_DATE",
                    f"{text} is at {datetime.fromtimestamp(int(text) / 1000, UTC):%H:%M} UTC, not midnight UTC.",
                )
        else:
            try:
                (date.fromisoformat if kind == "date" else datetime.fromisoformat)(text.replace("Z", "+00:00"))
            except ValueError:
                return _invalid(name, value, "INVALID_DATE", f"{text} was not a valid date.")
    elif kind == "enumeration":
        options = [o if isinstance(o, str) else o.get("value") for o in definition.get("options") or []]
        if options and text not in options:
            return _invalid(name, value, "INVALID_OPTION", f"{text} was not one of the allowed options: {options}")
    elif kind == "bool" and text.lower() not in ("true", "false"):
        return _invalid(name, value, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
    return None


def validate_properties(props: dict, known: dict[str, dict]) -> None:
    """Every value a string (numbers accepted as HubSpot does); unknown or read-only names refused."""
    if not isinstance(props, dict):
        raise HubSpotError(400, "properties must be an object")
    problems = []
    for name, value in props.items():
        definition = known.get(name)
        if definition is None:
            problems.append(_invalid(name, value, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
        elif definition.get("readOnly"):
            problems.append(
                _invalid(name, value, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.')
            )
        else:
            found = _check_value(name, value, definition)
            if found:
                problems.append(found)
    if problems:
        raise HubSpotError(
            400,
            "Property values were not valid: " + json.dumps(problems),
            "VALIDATION_ERROR",
            errors=[
                {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
                for p in problems
            ],
        )


# --- records --------------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _index_key(value: str) -> str:
    value = value.strip().lower()
    return value if len(value) <= 64 else hashlib.sha256(value.encode()).hexdigest()


def _unique_kind(otype: ObjectType, prop: str) -> str:
    """The index rows' kind (SandboxObject.kind holds 32 characters)."""
    kind = f"u:{otype.type_id}:{prop}"
    return kind if len(kind) <= 32 else f"u:{otype.type_id}:{hashlib.sha256(prop.encode()).hexdigest()[:20]}"


def unique_props(known: dict[str, dict]) -> list[str]:
    return [n for n, d in known.items() if d.get("unique")]


def rows(account: SandboxAccount, otype: ObjectType):
    kind = "commerce_payments" if otype.name == "payments" else otype.name
    return SandboxObject.objects.filter(provider=PROVIDER, account=account, kind=kind)


def find_id(account: SandboxAccount, otype: ObjectType, value: str, id_property: str | None) -> str | None:
    if not id_property or id_property == "hs_object_id":
        return str(value) if rows(account, otype).filter(object_id=str(value)).exists() else None
    found = SandboxObject.objects.filter(
        provider=PROVIDER, account=account, kind=_unique_kind(otype, id_property), object_id=_index_key(str(value))
    ).first()
    return found.data["id"] if found else None


def load(account: SandboxAccount, otype: ObjectType, object_id: str, lock: bool = False) -> SandboxObject | None:
    qs = rows(account, otype).filter(object_id=str(object_id))
    return (qs.select_for_update() if lock else qs).first()


def _conflict(otype: ObjectType, existing: str, prop: str, value) -> HubSpotError:
    if otype.name == "contacts" and prop == "email":
        message = f"Contact already exists. Existing ID: {existing}"
    else:
        # UNCONFIRMED wording for custom unique properties; the same "Existing ID" shape as contacts.
        message = f"{otype.label} already exists with {prop}={value}. Existing ID: {existing}"
    return HubSpotError(409, message, "CONFLICT", context={"existingId": [existing], "propertyName": [prop]})


def _claim_unique(account, otype, known, object_id: str, old: dict, new: dict) -> None:
    """Keep the unique-value index in step with a record's new properties (409 on a taken value)."""
    for prop in unique_props(known):
        if prop not in new:
            continue
        before, after = str(old.get(prop) or ""), str(new.get(prop) or "")
        if _index_key(before) == _index_key(after):
            continue
        kind = _unique_kind(otype, prop)
        if after:
            taken = SandboxObject.objects.filter(
                provider=PROVIDER, account=account, kind=kind, object_id=_index_key(after)
            ).first()
            if taken is not None and taken.data["id"] != object_id:
                raise _conflict(otype, taken.data["id"], prop, after)
            if taken is None:
                SandboxObject.objects.create(
                    provider=PROVIDER, account=account, kind=kind, object_id=_index_key(after), data={"id": object_id}
                )
        if before:
            SandboxObject.objects.filter(
                provider=PROVIDER, account=account, kind=kind, object_id=_index_key(before)
            ).delete()


def create(
    account, otype: ObjectType, props: dict, associations: list | None = None, object_id: str | None = None, known=None
) -> SandboxObject:
    known = known if known is not None else properties(account, otype)
    validate_properties(props, known)
    clean = {k: str(v) for k, v in props.items() if v not in (None, "")}
    if otype.name == "invoices":
        if not clean.get("hs_currency"):
            raise HubSpotError(400, "hs_currency is required to create an invoice.", "VALIDATION_ERROR")
        clean.setdefault("hs_invoice_status", "draft")
        today_ms = str(int(datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC).timestamp() * 1000))
        clean.setdefault("hs_invoice_date", today_ms)
        clean.setdefault("hs_due_date", clean["hs_invoice_date"])
    object_id = object_id or allocate_ids(1)[0]
    with transaction.atomic():
        _claim_unique(account, otype, known, object_id, {}, clean)
        stamp = now_iso()
        row = SandboxObject.objects.create(
            provider=PROVIDER,
            account=account,
            kind=otype.name,
            object_id=object_id,
            data={"properties": clean, "createdAt": stamp, "updatedAt": stamp, "archived": False},
        )
        planned = []
        for assoc in associations or []:
            to_id = str((assoc.get("to") or {}).get("id") or "")
            for spec in assoc.get("types") or []:
                planned.append((to_id, int(spec.get("associationTypeId") or 0)))
        for to_id, type_id in planned:
            associate_by_type_id(account, otype, object_id, to_id, type_id)
        if otype.name == "invoices":
            check_invoice_status(account, row, "draft", clean["hs_invoice_status"])
        if otype.name == "line_items":
            row.data["properties"]["amount"] = _line_amount(clean)
            row.save(update_fields=["data"])
    return row


def update(account, otype: ObjectType, row: SandboxObject, props: dict, known=None) -> SandboxObject:
    known = known if known is not None else properties(account, otype)
    validate_properties(props, known)
    current = row.data["properties"]
    before_status = current.get("hs_invoice_status", "draft")
    changes = {k: ("" if v is None else str(v)) for k, v in props.items()}
    with transaction.atomic():
        _claim_unique(account, otype, known, row.object_id, current, changes)
        for key, value in changes.items():
            if value == "":
                current.pop(key, None)
            else:
                current[key] = value
        if otype.name == "invoices" and "hs_invoice_status" in changes:
            check_invoice_status(account, row, before_status, current.get("hs_invoice_status", "draft"))
        if otype.name == "line_items":
            current["amount"] = _line_amount(current)
        row.data["updatedAt"] = now_iso()
        row.save(update_fields=["data", "updated_at"])
    return row


def archive(account, otype: ObjectType, row: SandboxObject) -> None:
    known = properties(account, otype)
    with transaction.atomic():
        _claim_unique(
            account, otype, known, row.object_id, row.data["properties"], dict.fromkeys(unique_props(known), "")
        )
        SandboxObject.objects.filter(
            provider=PROVIDER, account=account, kind="assoc", object_id__contains=f":{row.object_id}"
        ).delete()
        row.delete()


def _line_amount(props: dict) -> str:
    try:
        amount = Decimal(props.get("quantity") or "1") * Decimal(props.get("price") or "0")
    except InvalidOperation:
        amount = Decimal(0)
    return f"{amount:.2f}"


def check_invoice_status(account, row: SandboxObject, before: str, after: str) -> None:
    """Invoice state rules (vendors doc §2.6): draft -> open/paid needs a contact and a line item;
    a voided invoice stays voided; a paid one cannot go back to draft."""
    if before == after:
        return
    if before == "voided":
        raise HubSpotError(
            400,
            "A voided invoice cannot change status.",
            "VALIDATION_ERROR",
            sub_category="InvoiceError.INVALID_STATUS_TRANSITION",
        )
    if before == "paid" and after == "draft":
        raise HubSpotError(
            400,
            "A paid invoice cannot go back to draft.",
            "VALIDATION_ERROR",
            sub_category="InvoiceError.INVALID_STATUS_TRANSITION",
        )
    if after in ("open", "paid"):
        linked = {t for t, _ in associated(account, TYPES["invoices"], row.object_id)}
        missing = [
            label
            for kind, label in (("contacts", "a contact"), ("line_items", "at least one line item"))
            if kind not in linked
        ]
        if missing:
            raise HubSpotError(
                400,
                f"Invoice {row.object_id} cannot be set to {after}: associate {' and '.join(missing)} first.",
                "VALIDATION_ERROR",
                sub_category="InvoiceError.MISSING_REQUIRED_ASSOCIATIONS",
            )


# --- associations ---------------------------------------------------------------------------------


def _assoc_key(from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str) -> str:
    return f"{from_type.type_id}:{from_id}:{to_type.type_id}:{to_id}"


def _inverse(type_id: int) -> tuple[tuple[str, str], int] | None:
    for pair, tid in DEFAULT_ASSOCIATIONS.items():
        if tid == type_id:
            return pair, DEFAULT_ASSOCIATIONS.get((pair[1], pair[0]), tid)
    return None


def associate_by_type_id(account, from_type: ObjectType, from_id: str, to_id: str, type_id: int) -> None:
    found = _inverse(type_id)
    if found is None or found[0][0] != from_type.name:
        raise HubSpotError(
            400, f"{type_id} is not a valid association type id from {from_type.name}.", "VALIDATION_ERROR"
        )
    associate(account, from_type, from_id, TYPES[found[0][1]], to_id)


def associate(account, from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str) -> int:
    type_id = DEFAULT_ASSOCIATIONS.get((from_type.name, to_type.name))
    if type_id is None:
        raise HubSpotError(
            400, f"No default association exists from {from_type.name} to {to_type.name}.", "VALIDATION_ERROR"
        )
    for otype, oid in ((from_type, from_id), (to_type, to_id)):
        if not rows(account, otype).filter(object_id=str(oid)).exists():
            raise HubSpotError(404, f"No {otype.name} with id {oid} exists.", "OBJECT_NOT_FOUND")
    both = ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id))
    SandboxObject.objects.bulk_create(
        [
            SandboxObject(
                provider=PROVIDER,
                account=account,
                kind="assoc",
                object_id=_assoc_key(a, str(a_id), b, str(b_id)),
                data={"type_id": DEFAULT_ASSOCIATIONS[(a.name, b.name)]},
            )
            for a, a_id, b, b_id in both
        ],
        ignore_conflicts=True,
    )
    return type_id


def associated(account, otype: ObjectType, object_id: str, to_type: ObjectType | None = None) -> list[tuple[str, str]]:
    """(to type name, to id) of a record's associations, oldest first."""
    prefix = f"{otype.type_id}:{object_id}:" + (f"{to_type.type_id}:" if to_type else "")
    out = []
    for key in SandboxObject.objects.filter(
        provider=PROVIDER, account=account, kind="assoc", object_id__startswith=prefix
    ).values_list("object_id", flat=True):
        _, _, type_id, to_id = key.rsplit(":", 3)
        out.append((_BY_ID[type_id].name, to_id))
    return out


def computed(account, otype: ObjectType, row: SandboxObject) -> dict:
    """Properties HubSpot calculates: an invoice's billed, paid and balance from its line items and payments."""
    props = dict(row.data["properties"])
    props["hs_object_id"] = row.object_id
    for name in ("createdate", "hs_createdate"):
        props.setdefault(name, row.data["createdAt"])
    for name in ("lastmodifieddate", "hs_lastmodifieddate"):
        props[name] = row.data["updatedAt"]
    if otype.name == "invoices":
        billed = paid = Decimal(0)
        for kind, oid in associated(account, otype, row.object_id):
            other = load(account, TYPES[kind], oid)
            if other is None:
                continue
            p = other.data["properties"]
            if kind == "line_items":
                billed += Decimal(p.get("amount") or _line_amount(p)) + Decimal(p.get("tax") or "0")
            elif kind == "commerce_payments" and p.get("hs_latest_status", "succeeded") == "succeeded":
                paid += Decimal(p.get("hs_initial_amount") or "0")
        props.update(
            hs_amount_billed=f"{billed:.2f}",
            hs_amount_paid=f"{paid:.2f}",
            hs_balance_due=f"{max(billed - paid, Decimal(0)):.2f}",
        )
        props.setdefault("hs_number", f"INV-{row.pk}")
    return props


def public(
    account, otype: ObjectType, row: SandboxObject, wanted: list[str] | None = None, light: bool = False, **extra
) -> dict:
    """A record as HubSpot returns it: every property value a string. `light`: a write's answer, the
    stored properties without the calculated ones (an invoice's amounts need its associations)."""
    props = {**row.data["properties"], "hs_object_id": row.object_id} if light else computed(account, otype, row)
    names = wanted if wanted else list(otype.defaults) + list(row.data["properties"])
    out = {
        "id": row.object_id,
        # Unset properties are left out: the files type every value as a (non-null) string.
        "properties": {n: str(props[n]) for n in dict.fromkeys(names) if props.get(n) is not None},
        "createdAt": row.data["createdAt"],
        "updatedAt": row.data["updatedAt"],
        "archived": False,
        **extra,
    }
    return out
