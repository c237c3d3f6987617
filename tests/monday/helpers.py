"""Helpers for Monday tests: a connection made through the token form, and maps saved through the editor."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from integrations.monday import sandbox
from mlconnector.connections.models import Connection

INVOICES = "Invoices"
PAYMENTS = "Payments"


def connect_monday(client: Client) -> Connection:
    """Paste a sandbox personal token into the token form, as an admin would."""
    token = sandbox.issue_personal_token()
    response = client.post(reverse("connection-token", args=["monday"]), {"token": token})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Connection.objects.get(provider="monday", status="active")


def invoice_map_form(**overrides) -> dict:
    """The editor's POST for the seeded Invoices board: client, number, amount, due date, status."""
    ids = sandbox.board(INVOICES)["column_ids"]
    form = {
        "board": sandbox.board(INVOICES)["id"],
        "group": "topics",
        "col_client_name": ids.get("Client"),
        "col_invoice_number": ids.get("Invoice number"),
        "col_amount": ids.get("Amount"),
        "col_due_date": ids.get("Due date"),
        "col_status": ids.get("Status"),
        "label_draft": "Draft",
        "label_sent": "Sent",
        "label_partial": "Partial",
        "label_paid": "Paid",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def payment_map_form(**overrides) -> dict:
    ids = sandbox.board(PAYMENTS)["column_ids"]
    form = {
        "board": sandbox.board(PAYMENTS)["id"],
        "col_client_name": ids.get("Client"),
        "col_amount": ids.get("Amount"),
        "col_payment_date": ids.get("Payment date"),
        "col_payment_method": ids.get("Method"),
        "col_invoice_number": ids.get("Invoice number"),
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def save_map(client: Client, conn: Connection, record_type: str, form: dict):
    return client.post(reverse("monday-map-edit", args=[conn.pk, record_type]), form)


BILLS = "Bills & expenses"


def bill_map_form(**overrides) -> dict:
    """Bills on the "Bills & expenses" board, in its Bills group."""
    ids = sandbox.board(BILLS)["column_ids"]
    form = {
        "board": sandbox.board(BILLS)["id"],
        "group": "topics",
        "col_vendor": ids.get("Vendor"),
        "col_invoice_number": ids.get("Bill number"),
        "col_amount": ids.get("Amount"),
        "col_issue_date": ids.get("Date"),
        "col_due_date": ids.get("Due date"),
        "col_status": ids.get("Status"),
        "label_unpaid": "Unpaid",
        "label_partial": "Partial",
        "label_paid": "Paid",
        "label_overdue": "Overdue",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def expense_map_form(**overrides) -> dict:
    """Expenses on the same board, in its Expenses group."""
    ids = sandbox.board(BILLS)["column_ids"]
    form = {
        "board": sandbox.board(BILLS)["id"],
        "group": "group_mks6exp0",
        "col_vendor": ids.get("Vendor"),
        "col_amount": ids.get("Amount"),
        "col_issue_date": ids.get("Date"),
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}
