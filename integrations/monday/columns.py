"""The FreshBooks fields a finance admin can put on a Monday board, which column types each may go
to, and how a value is encoded for each column type.

Value formats: https://developer.monday.com/api-reference/docs/change-column-values and the
vendors doc §1.4. Numbers are sent as strings (a Decimal never becomes a float), dates as
{"date": "YYYY-MM-DD"}, statuses by label, and everything is keyed by column id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

RECORD_TYPES = ("invoice", "payment", "bill", "expense")
RECORD_LABELS = {"invoice": "Invoices", "payment": "Payments", "bill": "Bills", "expense": "Expenses"}

# The column types the editor offers; anything else on a board is shown as "not supported".
SUPPORTED_TYPES = ("text", "long_text", "numbers", "date", "status", "email", "link")
TYPE_LABELS = {
    "text": "text",
    "long_text": "long text",
    "numbers": "numbers",
    "date": "date",
    "status": "status",
    "email": "email",
    "link": "link",
}

# FreshBooks statuses a status column can be mapped from, per record type.
# Invoices: v3_status (https://www.freshbooks.com/api/invoices); bills: status.
STATUSES = {
    "invoice": ("draft", "sent", "viewed", "partial", "paid", "overdue", "disputed"),
    "bill": ("unpaid", "partial", "paid", "overdue"),
}
STATUS_LABELS = {
    "draft": "Draft",
    "sent": "Sent",
    "viewed": "Viewed",
    "partial": "Partly paid",
    "paid": "Paid",
    "overdue": "Overdue",
    "disputed": "Disputed",
    "unpaid": "Unpaid",
}


class EncodeError(ValueError):
    """A value cannot go into a column of that type (says which, in plain words)."""


# --- reading FreshBooks records ---------------------------------------------------------------


def _money(value: Any) -> Decimal | None:
    if isinstance(value, dict):
        value = value.get("amount")
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _currency(value: Any, record: dict) -> str | None:
    if isinstance(value, dict) and value.get("code"):
        return str(value["code"])
    return str(record.get("currency_code") or "") or None


def _day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _attached(record: dict, key: str) -> dict:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _client_name(record: dict) -> str | None:
    person = " ".join(p for p in (record.get("fname"), record.get("lname")) if p)
    return _text(record.get("organization") or record.get("current_organization") or person)


def _web_url(path: str) -> str:
    base = getattr(settings, "FRESHBOOKS_WEB_URL", "https://my.freshbooks.com")
    return f"{base.rstrip('/')}/#/{path}"


def _invoice_link(invoice: dict) -> dict | None:
    if not invoice.get("id"):
        return None
    number = invoice.get("invoice_number") or invoice["id"]
    return {"url": _web_url(f"invoice/{invoice.get('accountid', '')}-{invoice['id']}"), "text": f"Invoice {number}"}


Getter = Callable[[dict], Any]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    types: tuple[str, ...]  # compatible column types, best first
    getters: dict[str, Getter]  # record type -> value from the enriched FreshBooks record

    def applies_to(self, record_type: str) -> bool:
        return record_type in self.getters

    def value(self, record_type: str, record: dict) -> Any:
        return self.getters[record_type](record)


TEXTUAL = ("text", "long_text")
FIELDS: dict[str, Field] = {
    f.key: f
    for f in (
        Field(
            "client_name",
            "Client name",
            TEXTUAL,
            {"invoice": _client_name, "payment": lambda r: _client_name(_attached(r, "invoice"))},
        ),
        Field(
            "invoice_number",
            "Invoice number",
            TEXTUAL,
            {
                "invoice": lambda r: _text(r.get("invoice_number")),
                "payment": lambda r: _text(_attached(r, "invoice").get("invoice_number")),
                "bill": lambda r: _text(r.get("bill_number")),
            },
        ),
        Field(
            "amount",
            "Amount",
            ("numbers", "text"),
            {t: (lambda r: _money(r.get("amount") or r.get("total_amount"))) for t in RECORD_TYPES},
        ),
        Field(
            "outstanding",
            "Outstanding",
            ("numbers", "text"),
            {"invoice": lambda r: _money(r.get("outstanding")), "bill": lambda r: _money(r.get("outstanding"))},
        ),
        Field(
            "currency",
            "Currency",
            TEXTUAL,
            {t: (lambda r: _currency(r.get("amount") or r.get("total_amount"), r)) for t in RECORD_TYPES},
        ),
        Field(
            "status",
            "Status",
            ("status", "text"),
            {"invoice": lambda r: _text(r.get("v3_status")), "bill": lambda r: _text(r.get("status"))},
        ),
        Field(
            "due_date",
            "Due date",
            ("date", "text"),
            {"invoice": lambda r: _day(r.get("due_date")), "bill": lambda r: _day(r.get("due_date"))},
        ),
        Field(
            "issue_date",
            "Issue date",
            ("date", "text"),
            {
                "invoice": lambda r: _day(r.get("create_date")),
                "bill": lambda r: _day(r.get("issue_date")),
                "expense": lambda r: _day(r.get("date")),
            },
        ),
        Field(
            "payment_date",
            "Payment date",
            ("date", "text"),
            {"payment": lambda r: _day(r.get("date")), "invoice": lambda r: _day(r.get("date_paid"))},
        ),
        Field("payment_method", "Payment method", TEXTUAL, {"payment": lambda r: _text(r.get("type"))}),
        Field(
            "vendor",
            "Vendor",
            TEXTUAL,
            {
                "bill": lambda r: _text(_attached(r, "vendor").get("vendor_name")),
                "expense": lambda r: _text(r.get("vendor")),
            },
        ),
        Field(
            "category",
            "Category",
            TEXTUAL,
            {
                "expense": lambda r: _text(_attached(r, "category").get("category")),
                "bill": lambda r: _text(r.get("overall_category")),
            },
        ),
        Field(
            "client_email",
            "Client email",
            ("email", "text"),
            {
                "invoice": lambda r: _text(r.get("email")),
                "payment": lambda r: _text(_attached(r, "invoice").get("email")),
            },
        ),
        Field(
            "link",
            "Link to FreshBooks",
            ("link", "text"),
            {"invoice": _invoice_link, "payment": lambda r: _invoice_link(_attached(r, "invoice"))},
        ),
    )
}


def fields_for(record_type: str) -> list[Field]:
    return [f for f in FIELDS.values() if f.applies_to(record_type)]


# --- pre-selecting columns and labels by name -----------------------------------------------------

# Other names a board commonly gives the column for a field (besides the field's own label).
ALIASES: dict[str, tuple[str, ...]] = {
    "client_name": ("client", "customer", "customer name", "company"),
    "invoice_number": ("invoice", "invoice no", "invoice #", "number", "bill number", "bill no", "bill #"),
    "amount": ("total", "value", "amount due"),
    "outstanding": ("balance", "balance due", "open amount"),
    "status": ("state", "payment status", "invoice status", "bill status"),
    "due_date": ("due", "due on"),
    "issue_date": ("issued", "issued on", "invoice date", "bill date", "date"),
    "payment_date": ("paid on", "date paid", "paid date", "date"),
    "payment_method": ("method", "paid by", "payment type"),
    "vendor": ("supplier", "payee"),
    "client_email": ("email", "e-mail", "client e-mail"),
    "link": ("freshbooks link", "freshbooks", "freshbooks url", "url", "link"),
}
# Other names of a FreshBooks status among a status column's labels.
STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "partial": ("partial", "partially paid", "part paid"),
    "overdue": ("late", "past due"),
    "viewed": ("seen", "opened"),
    "unpaid": ("open", "not paid"),
}


def _name_key(text: str) -> str:
    """A name as compared for matching: no case, no punctuation, '#' read as 'number'."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", str(text).casefold().replace("#", " number ")).split())


def suggest_columns(record_type: str, columns: list) -> dict[str, str]:
    """{field key: column id} for the columns whose title names a field (its label, or a common other
    name), compatible in type; each column at most once, exact label matches first."""
    candidates = []
    for order, field in enumerate(fields_for(record_type)):
        names = {_name_key(a): 1 for a in ALIASES.get(field.key, ())}
        names[_name_key(field.label)] = 2  # the field's own name beats another field's alias
        for position, column in enumerate(columns):
            score = names.get(_name_key(column.title))
            if score and column.type in field.types:
                candidates.append((-score, field.types.index(column.type), order, position, field.key, column.id))
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for *_, key, column_id in sorted(candidates):
        if key not in chosen and column_id not in used:
            chosen[key] = column_id
            used.add(column_id)
    return chosen


def suggest_labels(record_type: str, labels: list[str]) -> dict[str, str]:
    """{FreshBooks status: label} for the labels named like a status ("Partial" for partly paid)."""
    by_key = {_name_key(label): label for label in labels}
    chosen = {}
    for status in STATUSES.get(record_type, ()):
        for name in (STATUS_LABELS.get(status, status), status, *STATUS_ALIASES.get(status, ())):
            if _name_key(name) in by_key:
                chosen[status] = by_key[_name_key(name)]
                break
    return chosen


def item_name(record_type: str, record: dict) -> str:
    """The item's name (Monday allows 1-255 characters)."""
    if record_type == "invoice":
        name = f"Invoice {record.get('invoice_number') or record.get('id')}"
        client = _client_name(record)
        name = f"{name} · {client}" if client else name
    elif record_type == "payment":
        amount, invoice = _money(record.get("amount")), _attached(record, "invoice")
        code = _currency(record.get("amount"), record) or ""
        number = invoice.get("invoice_number") or record.get("invoiceid") or ""
        name = f"Payment {amount if amount is not None else ''} {code}".strip() + (
            f" · invoice {number}" if number else ""
        )
    elif record_type == "bill":
        vendor = _attached(record, "vendor").get("vendor_name")
        name = f"Bill {record.get('bill_number') or record.get('id')}" + (f" · {vendor}" if vendor else "")
    else:
        what = record.get("vendor") or _attached(record, "category").get("category") or record.get("id")
        name = f"Expense · {what}"
    return name[:255]


# --- encoding values for Monday ---------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):  # a link
        return str(value.get("url") or "")
    return str(value)


def encode_text(value: Any, **_) -> Any:
    return _as_text(value)


def encode_long_text(value: Any, **_) -> Any:
    return {"text": _as_text(value)}


def encode_numbers(value: Any, **_) -> Any:
    # A string, never a JSON number: no float rounding of money (trap 4).
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise EncodeError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise EncodeError(f"{value!r} is not a number")
    return format(number, "f")


def encode_date(value: Any, **_) -> Any:
    day = _day(value)
    if day is None:
        raise EncodeError(f"{value!r} is not a date")
    return {"date": day.isoformat()}


def encode_status(value: Any, *, labels: dict[str, str] | None = None, **_) -> Any:
    label = (labels or {}).get(str(value))
    if not label:
        return None  # an unmapped status leaves the column as it is (the caller skips it)
    return {"label": label}


def encode_email(value: Any, **_) -> Any:
    address = _as_text(value)
    if "@" not in address:
        raise EncodeError(f"{address!r} is not an email address")
    return {"email": address, "text": address}


def encode_link(value: Any, **_) -> Any:
    if isinstance(value, dict):
        return {"url": value.get("url", ""), "text": value.get("text") or value.get("url", "")}
    url = _as_text(value)
    return {"url": url, "text": url}


ENCODERS: dict[str, Callable[..., Any]] = {
    "text": encode_text,
    "long_text": encode_long_text,
    "numbers": encode_numbers,
    "date": encode_date,
    "status": encode_status,
    "email": encode_email,
    "link": encode_link,
}


def encode(column_type: str, value: Any, *, labels: dict[str, str] | None = None) -> Any:
    if column_type not in ENCODERS:
        raise EncodeError(f"{TYPE_LABELS.get(column_type, column_type)} columns are not supported")
    return ENCODERS[column_type](value, labels=labels)


def column_values_json(values: dict[str, Any]) -> str:
    """The `column_values` argument: one JSON-encoded string keyed by column id (trap 3)."""
    return json.dumps(values, separators=(",", ":"), sort_keys=True)


# --- reading a board's columns ----------------------------------------------------------------


def status_labels(column: dict) -> list[str]:
    """The labels of a status column, from `settings` (2025-10+) or `settings_str` (older)."""
    raw = column.get("settings")
    if raw in (None, "", {}):
        raw = column.get("settings_str")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else {}
        except ValueError:
            raw = {}
    labels = (raw or {}).get("labels") if isinstance(raw, dict) else None
    found: list[tuple[int, str]] = []
    if isinstance(labels, dict):  # {"0": "Working on it", "1": "Done"}
        for index, label in labels.items():
            text = label.get("label") or label.get("name") if isinstance(label, dict) else label
            if text:
                found.append((int(index) if str(index).isdigit() else 0, str(text)))
    elif isinstance(labels, list):  # [{"id": 0, "label": "Working on it"}, ...]
        for n, label in enumerate(labels):
            if isinstance(label, dict):
                text = label.get("label") or label.get("name") or label.get("text")
                index = label.get("index", label.get("id", n))
            else:
                text, index = label, n
            if text:
                found.append((int(index) if str(index).lstrip("-").isdigit() else n, str(text)))
    seen: list[str] = []
    for _, text in sorted(found):
        if text not in seen:
            seen.append(text)
    return seen
