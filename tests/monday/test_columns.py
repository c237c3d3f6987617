"""Column value encoders and the FreshBooks field catalogue."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from integrations.monday import columns
from integrations.monday.columns import EncodeError, encode


def test_it_sends_decimal_amounts_as_exact_strings():
    assert encode("numbers", Decimal("6000.00")) == "6000.00"
    assert encode("numbers", Decimal("0.1") + Decimal("0.2")) == "0.3"
    assert encode("numbers", Decimal("1E+3")) == "1000"  # never scientific notation
    assert encode("numbers", "12.50") == "12.50"


def test_it_refuses_what_is_not_a_number():
    with pytest.raises(EncodeError, match="not a number"):
        encode("numbers", "twelve")
    with pytest.raises(EncodeError):
        encode("numbers", Decimal("NaN"))


def test_it_sends_dates_as_date_objects():
    assert encode("date", date(2026, 12, 21)) == {"date": "2026-12-21"}
    assert encode("date", "2026-12-21") == {"date": "2026-12-21"}
    assert encode("date", "2026-12-21 09:00:00") == {"date": "2026-12-21"}
    with pytest.raises(EncodeError, match="not a date"):
        encode("date", "next week")


def test_it_sends_text_as_plain_strings_whatever_the_value():
    assert encode("text", "Northwind") == "Northwind"
    assert encode("text", Decimal("6000.00")) == "6000.00"
    assert encode("text", date(2026, 1, 2)) == "2026-01-02"
    assert encode("long_text", "notes") == {"text": "notes"}


def test_it_sends_a_status_by_its_mapped_label_and_skips_an_unmapped_one():
    labels = {"paid": "Done", "sent": "Working on it"}
    assert encode("status", "paid", labels=labels) == {"label": "Done"}
    assert encode("status", "disputed", labels=labels) is None


def test_it_encodes_links_and_emails():
    assert encode("link", {"url": "https://x.test/1", "text": "Invoice 1"}) == {
        "url": "https://x.test/1",
        "text": "Invoice 1",
    }
    assert encode("email", "ap@northwind.test") == {"email": "ap@northwind.test", "text": "ap@northwind.test"}
    with pytest.raises(EncodeError, match="not an email"):
        encode("email", "nobody")


def test_it_refuses_unsupported_column_types():
    with pytest.raises(EncodeError, match="not supported"):
        encode("people", "x")


def test_column_values_are_one_json_string_keyed_by_column_id():
    encoded = columns.column_values_json({"numeric_1": "6000.00", "date4": {"date": "2026-12-21"}})
    assert isinstance(encoded, str)
    assert json.loads(encoded) == {"numeric_1": "6000.00", "date4": {"date": "2026-12-21"}}
    assert '"{' not in encoded  # inner values are not encoded a second time


def test_status_labels_are_read_from_settings_or_settings_str():
    assert columns.status_labels({"settings": {"labels": {"1": "Done", "0": "Working on it"}}}) == [
        "Working on it",
        "Done",
    ]
    assert columns.status_labels({"settings": None, "settings_str": '{"labels": {"0": "Paid"}}'}) == ["Paid"]
    assert columns.status_labels(
        {"settings": {"labels": [{"id": 2, "label": "Stuck"}, {"id": 1, "label": "Done"}]}}
    ) == [
        "Done",
        "Stuck",
    ]
    assert columns.status_labels({"settings_str": "not json"}) == []


INVOICE = {
    "id": 4001,
    "accountid": "DEMO01",
    "invoice_number": "0000042",
    "organization": "Northwind Traders",
    "amount": {"amount": "6000.00", "code": "USD"},
    "outstanding": {"amount": "1000.00", "code": "USD"},
    "v3_status": "partial",
    "due_date": "2026-12-21",
    "create_date": "2026-11-21",
    "date_paid": None,
}


def test_the_catalogue_reads_invoices_payments_bills_and_expenses():
    f = columns.FIELDS
    assert f["amount"].value("invoice", INVOICE) == Decimal("6000.00")
    assert f["outstanding"].value("invoice", INVOICE) == Decimal("1000.00")
    assert f["client_name"].value("invoice", INVOICE) == "Northwind Traders"
    assert f["due_date"].value("invoice", INVOICE) == date(2026, 12, 21)
    assert f["payment_date"].value("invoice", INVOICE) is None
    assert f["link"].value("invoice", INVOICE)["text"] == "Invoice 0000042"
    payment = {"amount": {"amount": "500.00", "code": "USD"}, "date": "2026-11-30", "type": "Check", "invoice": INVOICE}
    assert f["client_name"].value("payment", payment) == "Northwind Traders"
    assert f["invoice_number"].value("payment", payment) == "0000042"
    assert f["payment_method"].value("payment", payment) == "Check"
    bill = {
        "bill_number": "B-1",
        "vendor": {"vendor_name": "Acme Paper"},
        "status": "unpaid",
        "total_amount": {"amount": "80.00", "code": "CAD"},
    }
    assert f["vendor"].value("bill", bill) == "Acme Paper" and f["currency"].value("bill", bill) == "CAD"
    expense = {
        "vendor": "Taxi",
        "category": {"category": "Travel"},
        "date": "2026-11-02",
        "amount": {"amount": "31.20", "code": "USD"},
    }
    assert f["category"].value("expense", expense) == "Travel" and f["amount"].value("expense", expense) == Decimal(
        "31.20"
    )
    assert not f["status"].applies_to("payment")


def test_item_names_fit_monday_limits():
    assert columns.item_name("invoice", INVOICE) == "Invoice 0000042 · Northwind Traders"
    assert len(columns.item_name("invoice", {**INVOICE, "organization": "x" * 400})) == 255
