"""The FreshBooks sandbox's accounting rules: creating and updating clients, invoices, payments,
bills, vendors and expenses the way FreshBooks does (record shapes, money, invoice status).

Every function returns the record and the changes to announce; callers send the webhooks after the
transaction has committed (state.announce). Invalid input raises state.ApiError and changes nothing.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from integrations.freshbooks.sandbox.state import (
    KINDS,
    ApiError,
    Change,
    Kind,
    amount_of,
    as_int,
    currency,
    eastern_now,
    get_row,
    invalid,
    money,
    parse_amount,
    parse_day,
    rows,
    save_new,
    today,
    utc_now,
)
from integrations.sandbox.models import SandboxAccount, SandboxObject

# Invoice status codes (https://www.freshbooks.com/api/invoices) -> (v3_status, payment_status, display_status).
INVOICE_STATES = {
    1: ("draft", "unpaid", "draft"),
    2: ("sent", "unpaid", "sent"),
    4: ("paid", "paid", "paid"),
    8: ("partial", "partial", "partial"),
}


def _names(text: str) -> list[str]:
    return text.split()


# Record templates: the fields of the vendor fixtures that the sandbox does not compute.
CLIENT_TEXT = _names("fname lname organization email note bus_phone mob_phone p_street p_street2 p_city p_province")
CLIENT_TEXT += ["p_code", "p_country"]
CLIENT_TEMPLATE = {
    **dict.fromkeys(
        _names(
            "company_industry company_size direct_link_token has_retainer home_phone last_activity last_login"
            " retainer_id statement_token subdomain vat_name vat_number"
        )
    ),
    **dict.fromkeys([*CLIENT_TEXT, *_names("fax s_city s_code s_country s_province s_street s_street2")], ""),
    **dict.fromkeys(_names("allow_email_include_pdf notified pref_gmail"), False),
    **dict.fromkeys(_names("allow_late_fees allow_late_notifications pref_email"), True),
    **{"language": "en", "level": 0, "num_logins": 0, "role": "client", "vis_state": 0},
}
VENDOR_TEXT = _names(
    "vendor_name account_number city country note phone postal_code primary_contact_email"
    " primary_contact_first_name primary_contact_last_name province street street2 website"
)
VENDOR_TEMPLATE = {
    **dict.fromkeys(VENDOR_TEXT, ""),
    **{"language": "en", "is_1099": False, "tax_defaults": [], "outstanding_balance": [], "overdue_balance": []},
    "vis_state": 0,
}
EXPENSE_TEMPLATE = {
    **dict.fromkeys(_names("taxName1 taxAmount1 taxName2 taxAmount2")),
    **{"status": 0, "staffid": 1, "projectid": 0, "markup_percent": "0", "has_receipt": False, "is_cogs": False},
    "vis_state": 0,
}


def create(account: SandboxAccount, kind: Kind, fields: dict) -> tuple[dict, list[Change]]:
    if not kind.writable:
        raise ApiError(405, f"{kind.label} records cannot be created through the API.", obj=kind.name)
    with transaction.atomic():
        row, changes = _CREATORS[kind.name](account, fields)
    return row.data, changes


def update(account: SandboxAccount, kind: Kind, object_id: Any, fields: dict) -> tuple[dict, list[Change]]:
    if not kind.writable:
        raise ApiError(405, f"{kind.label} records cannot be changed through the API.", obj=kind.name)
    with transaction.atomic():
        row = SandboxObject.objects.select_for_update().get(pk=get_row(account, kind, object_id).pk)
        was_deleted = row.data.get("vis_state") == 1
        _vis_state(fields, row.data)  # first: a deleted payment must no longer count when its invoice settles
        changes = _UPDATERS[kind.name](account, row, fields)
        # Bills and vendors carry UTC created_at/updated_at; the rest an Eastern `updated`.
        if "updated_at" in row.data:
            row.data["updated_at"] = utc_now()
        else:
            row.data["updated"] = eastern_now()
        row.save(update_fields=["data", "updated_at"])
    # A soft delete is an update to vis_state 1 (https://www.freshbooks.com/api/active_deleted).
    action = "delete" if row.data.get("vis_state") == 1 and not was_deleted else "update"
    return row.data, [(account, f"{kind.name}.{action}", row.object_id), *changes]


def delete(account: SandboxAccount, kind: Kind, object_id: Any) -> tuple[dict, list[Change]]:
    """HTTP DELETE (invoices: the SDK's delete_via_update=False) is a soft delete too."""
    return update(account, kind, object_id, {"vis_state": 1})


def _vis_state(fields: dict, data: dict) -> None:
    if "vis_state" in fields:
        if as_int(fields["vis_state"]) not in (0, 1, 2):
            raise invalid("vis_state", "vis_state must be 0, 1 or 2.", value=fields["vis_state"])
        data["vis_state"] = as_int(fields["vis_state"])


def _copy(fields: dict, data: dict, names: list[str]) -> None:
    for name in names:
        if name in fields:
            data[name] = "" if fields[name] is None else str(fields[name])


def _default_currency(account: SandboxAccount) -> str:
    return account.data.get("currency_code", "USD")


# --- clients and vendors ------------------------------------------------------------------------


def _create_client(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    if not any(str(f.get(k) or "").strip() for k in ("organization", "fname", "lname", "email")):
        raise invalid("organization", "A client needs an organization, a name or an email.", "client")
    data = {
        **CLIENT_TEMPLATE,
        "accounting_systemid": account.key,
        "currency_code": currency(f.get("currency_code"), _default_currency(account)),
        "signup_date": utc_now(),
        "updated": eastern_now(),
        "username": secrets.token_hex(5),
        "uuid": str(uuid.uuid4()),
    }
    _copy(f, data, CLIENT_TEXT)
    if not data["organization"]:
        data["organization"] = " ".join(p for p in (data["fname"], data["lname"]) if p) or data["email"]
    row = save_new(account, KINDS["client"], data)
    return row, [(account, "client.create", row.object_id)]


def _update_client(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    _copy(f, row.data, CLIENT_TEXT)
    if "currency_code" in f:
        row.data["currency_code"] = currency(f["currency_code"], row.data["currency_code"])
    return []


def _create_vendor(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    if not str(f.get("vendor_name") or "").strip():
        raise invalid("vendor_name", "vendor_name is required.", "bill_vendor")
    now = utc_now()
    code = currency(f.get("currency_code"), _default_currency(account))
    data = {**VENDOR_TEMPLATE, "currency_code": code, "created_at": now, "updated_at": now}
    _copy(f, data, VENDOR_TEXT)
    row = save_new(account, KINDS["bill_vendor"], data)
    return row, [(account, "bill_vendor.create", row.object_id)]


def _update_vendor(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    _copy(f, row.data, VENDOR_TEXT)
    return []


# --- lines and dates, shared by invoices and bills ----------------------------------------------


def _lines(f: dict, code: str, obj: str) -> list[dict]:
    """Quantity x unit cost per line. A bare `amount` becomes one line (a sandbox convenience)."""
    raw = f.get("lines")
    if not raw:
        if f.get("amount") in (None, ""):
            raise invalid("lines", "At least one line (or an amount) is required.", obj)
        raw = [{"name": "Services", "qty": "1", "unit_cost": f["amount"]}]
    if not isinstance(raw, list):
        raise invalid("lines", "lines must be a list.", obj)
    lines = []
    for n, line in enumerate(raw, start=1):
        if not isinstance(line, dict):
            raise invalid("lines", "Each line must be an object.", obj)
        qty = parse_amount(line.get("qty", line.get("quantity", "1")), "qty", obj, positive=False)
        unit = parse_amount(line.get("unit_cost", line.get("amount")), "unit_cost", obj, positive=False)
        name = str(line.get("name") or line.get("description") or "Item")
        lines.append(
            {"lineid": n, "name": name, "description": str(line.get("description") or ""), "qty": str(qty)}
            | {"unit_cost": money(unit, code), "amount": money(qty * unit, code), "type": 0}
            | {"taxName1": "", "taxAmount1": "0", "taxName2": "", "taxAmount2": "0"}
        )
    if _total(lines) < 0:
        raise invalid("lines", "The total cannot be negative.", obj)
    return lines


def _total(lines: list[dict]) -> Decimal:
    return sum((amount_of(line["amount"]) for line in lines), Decimal(0))


def _dates(f: dict, data: dict, obj: str, start_key: str) -> None:
    """The start date (create_date / issue_date), due_date and due_offset_days, kept consistent."""
    start = parse_day(f.get(start_key), start_key, obj) or date.fromisoformat(data.get(start_key) or str(today()))
    due = parse_day(f.get("due_date"), "due_date", obj)
    if due is None:
        offset = as_int(f.get("due_offset_days", data.get("due_offset_days", 0)) or 0)
        if offset is None or offset < 0:
            raise invalid("due_offset_days", "due_offset_days must be a whole number of days.", obj)
        due = start + timedelta(days=offset)
    if due < start:
        raise invalid("due_date", f"due_date cannot be before {start_key}.", obj, due)
    data.update({start_key: start.isoformat(), "due_date": due.isoformat(), "due_offset_days": (due - start).days})


# --- invoices and payments --------------------------------------------------------------------


def _client_names(client: dict) -> dict:
    organization = client.get("organization", "")
    names = {"fname": client.get("fname", ""), "lname": client.get("lname", "")}
    return {"organization": organization, "current_organization": organization, **names}


def _create_invoice(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    client = get_row(account, KINDS["client"], f.get("customerid"), "customerid").data
    code = currency(f.get("currency_code"), client.get("currency_code") or _default_currency(account))
    status = as_int(f.get("status", 1))
    if status not in (1, 2):
        raise invalid("status", "A new invoice is a draft (1) or sent (2).", "invoice", f.get("status"))
    now = eastern_now()
    data = {
        "accountid": account.key,
        "accounting_systemid": account.key,
        "invoice_number": str(f.get("invoice_number") or f"{rows(account, 'invoice').count() + 1:07d}"),
        "customerid": client["userid"],
        "ownerid": 1,
        **_client_names(client),
        "currency_code": code,
        **{k: str(f.get(k) or "") for k in ("notes", "terms", "po_number")},
        **{k: client.get(f"p_{k}", "") for k in ("street", "city", "province", "country", "code")},
        "language": "en",
        "created_at": now,
        "updated": now,
        "date_paid": None,
        "autobill_status": None,
        "deposit_status": "none",
        "discount_total": money(Decimal(0), code),
        "vis_state": 0,
        "lines": _lines(f, code, "invoice"),
        "_base_status": status,  # draft or sent, what the invoice returns to if its payments go away
    }
    _dates(f, data, "invoice", "create_date")
    _settle(account, data)
    row = save_new(account, KINDS["invoice"], data)
    return row, [(account, "invoice.create", row.object_id)]


def _update_invoice(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    data = row.data
    if "customerid" in f:
        client = get_row(account, KINDS["client"], f["customerid"], "customerid").data
        data.update({"customerid": client["userid"], **_client_names(client)})
    if "lines" in f or "amount" in f:
        data["lines"] = _lines(f, data["currency_code"], "invoice")
    if "status" in f:
        if as_int(f["status"]) not in (1, 2):
            raise invalid("status", "Only draft (1) or sent (2) can be set; payments set the rest.", "invoice")
        data["_base_status"] = as_int(f["status"])
    _copy(f, data, ["notes", "terms", "po_number", "invoice_number"])
    if {"create_date", "due_date", "due_offset_days"} & set(f):
        _dates(f, data, "invoice", "create_date")
    _settle(account, data)
    return []


def _settle(account: SandboxAccount, invoice: dict) -> None:
    """Amount, paid, outstanding and status from the lines and the active payments.

    Paying more than is outstanding leaves a credit (the payment's overpaymentid), never a
    negative outstanding (vendors doc §1.5).
    """
    code = invoice["currency_code"]
    total = _total(invoice.get("lines", []))
    active = [
        p.data
        for p in rows(account, "payment")
        if str(p.data.get("invoiceid")) == str(invoice.get("id")) and p.data.get("vis_state", 0) == 0
    ]
    paid = sum((amount_of(p["amount"]) for p in active), Decimal(0))
    applied = min(paid, total)
    invoice.update(amount=money(total, code), paid=money(applied, code), outstanding=money(total - applied, code))
    if paid > 0 and applied == total:
        status, invoice["date_paid"] = 4, max(p["date"] for p in active)
    else:
        status, invoice["date_paid"] = (8 if paid > 0 else invoice.get("_base_status", 1)), None
    v3_status, payment_status, display_status = INVOICE_STATES[status]
    invoice.update(status=status, v3_status=v3_status, payment_status=payment_status, display_status=display_status)


def _resettle(account: SandboxAccount, invoice_id: Any) -> list[Change]:
    row = rows(account, "invoice").select_for_update().filter(object_id=str(invoice_id)).first()
    if row is None:
        return []
    _settle(account, row.data)
    row.data["updated"] = eastern_now()
    row.save(update_fields=["data", "updated_at"])
    return [(account, "invoice.update", row.object_id)]


def _create_payment(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    found = get_row(account, KINDS["invoice"], f.get("invoiceid"), "invoiceid")
    invoice = SandboxObject.objects.select_for_update().get(pk=found.pk).data
    amount = parse_amount(f.get("amount"), "amount", "payment")
    # The payment takes the invoice's currency; amount.code is ignored (vendors doc §1.5, UNCONFIRMED).
    code = invoice["currency_code"]
    outstanding = amount_of(invoice["outstanding"])
    overpaymentid = None
    if amount > outstanding:
        credit = {"amount": money(amount - outstanding, code), "clientid": invoice["customerid"]}
        overpaymentid = save_new(account, KINDS["credit"], credit).data["creditid"]
    data = {
        "accounting_systemid": account.key,
        "invoiceid": invoice["id"],
        "clientid": invoice["customerid"],
        "amount": money(amount, code),
        "date": (parse_day(f.get("date"), "date", "payment") or today()).isoformat(),
        "type": str(f.get("type") or "Check"),
        "note": str(f.get("note") or ""),
        "updated": eastern_now(),
        "vis_state": 0,
        "overpaymentid": overpaymentid,
        "creditid": None,
        "from_credit": False,
        **dict.fromkeys(_names("gateway transactionid orderid bulk_paymentid")),
        "send_client_notification": bool(f.get("send_client_notification", False)),
    }
    row = save_new(account, KINDS["payment"], data)
    return row, [(account, "payment.create", row.object_id), *_resettle(account, invoice["id"])]


def _update_payment(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    if "amount" in f:
        row.data["amount"] = money(parse_amount(f["amount"], "amount", "payment"), row.data["amount"]["code"])
    if "date" in f:
        row.data["date"] = (parse_day(f["date"], "date", "payment") or today()).isoformat()
    _copy(f, row.data, ["type", "note"])
    row.save(update_fields=["data"])  # the invoice re-reads its payments next
    return _resettle(account, row.data["invoiceid"])


# --- bills and expenses -------------------------------------------------------------------------


def _bill_amounts(data: dict) -> None:
    code, total = data["currency_code"], _total(data["lines"])
    outstanding = max(total - amount_of(data.get("paid")), Decimal(0))
    data.update(amount=money(total, code), total_amount=money(total, code), outstanding=money(outstanding, code))


def _create_bill(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    vendor = get_row(account, KINDS["bill_vendor"], f.get("vendorid"), "vendorid").data
    code = currency(f.get("currency_code"), vendor.get("currency_code") or _default_currency(account))
    now = utc_now()
    data = {
        "bill_number": str(f.get("bill_number") or f"B-{rows(account, 'bill').count() + 1:05d}"),
        "vendorid": vendor["vendorid"],
        "currency_code": code,
        "language": "en",
        "lines": _lines(f, code, "bill"),
        "paid": money(Decimal(0), code),
        "tax_amount": money(Decimal(0), code),
        "status": "unpaid",
        **{k: str(f.get(k) or "") for k in ("overall_category", "overall_description")},
        "bill_payments": [],
        "attachment": None,
        "vis_state": 0,
        "created_at": now,
        "updated_at": now,
    }
    _bill_amounts(data)
    _dates(f, data, "bill", "issue_date")
    row = save_new(account, KINDS["bill"], data)
    return row, [(account, "bill.create", row.object_id)]


def _update_bill(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    if "lines" in f or "amount" in f:
        row.data["lines"] = _lines(f, row.data["currency_code"], "bill")
        _bill_amounts(row.data)
    _copy(f, row.data, ["bill_number", "overall_category", "overall_description"])
    if {"issue_date", "due_date", "due_offset_days"} & set(f):
        _dates(f, row.data, "bill", "issue_date")
    return []


def _create_expense(account: SandboxAccount, f: dict) -> tuple[SandboxObject, list[Change]]:
    category = get_row(account, KINDS["category"], f.get("categoryid"), "categoryid").data
    raw = f.get("amount")
    code = currency(raw.get("code") if isinstance(raw, dict) else None, _default_currency(account))
    data = {
        **EXPENSE_TEMPLATE,
        "accounting_systemid": account.key,
        "amount": money(parse_amount(raw, "amount", "expense"), code),
        "categoryid": category["categoryid"],
        "vendor": str(f.get("vendor") or ""),
        "notes": str(f.get("notes") or ""),
        "date": (parse_day(f.get("date"), "date", "expense") or today()).isoformat(),
        "clientid": as_int(f.get("clientid")) or 0,
        "updated": eastern_now(),
    }
    row = save_new(account, KINDS["expense"], data)
    return row, [(account, "expense.create", row.object_id)]


def _update_expense(account: SandboxAccount, row: SandboxObject, f: dict) -> list[Change]:
    if "amount" in f:
        row.data["amount"] = money(parse_amount(f["amount"], "amount", "expense"), row.data["amount"]["code"])
    if "categoryid" in f:
        row.data["categoryid"] = get_row(account, KINDS["category"], f["categoryid"], "categoryid").data["id"]
    if "date" in f:
        row.data["date"] = (parse_day(f["date"], "date", "expense") or today()).isoformat()
    _copy(f, row.data, ["vendor", "notes"])
    return []


def new_category(account: SandboxAccount, name: str) -> SandboxObject:
    now = utc_now()
    data = {"category": name, "parentid": None, "is_cogs": False, "is_editable": True, "vis_state": 0}
    return save_new(account, KINDS["category"], {**data, "created_at": now, "updated_at": now})


_CREATORS = {
    "client": _create_client,
    "bill_vendor": _create_vendor,
    "invoice": _create_invoice,
    "payment": _create_payment,
    "bill": _create_bill,
    "expense": _create_expense,
}
_UPDATERS = {
    "client": _update_client,
    "bill_vendor": _update_vendor,
    "invoice": _update_invoice,
    "payment": _update_payment,
    "bill": _update_bill,
    "expense": _update_expense,
}
