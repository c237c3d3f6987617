"""What we send Slack: the arguments satisfy Slack's published method spec, user data is escaped,
and the message says what a finance person needs (amount and currency, who, number, due date)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from integrations.slack import messages
from integrations.slack.client import SlackClient
from tests.slack.helpers import sandbox_slack_connection

SPEC = Path(__file__).resolve().parents[2] / "integrations/slack/fixtures/vendor/chat.postMessage.json"


def event(event_type="invoice.create", **overrides):
    record = {
        "id": 77,
        "invoice_number": "INV-0042",
        "v3_status": "sent",
        "due_date": "2026-12-21",
        "outstanding": {"amount": "6000.00", "code": "USD"},
    }
    base = dict(
        event_type=event_type,
        payload=record,
        amount=Decimal("6000.00"),
        currency="USD",
        counterparty="Northwind Traders",
        invoice_number="INV-0042",
    )
    base.update(overrides)
    return SimpleNamespace(**base)


def as_form_args(body: dict, token: str) -> dict:
    """Slack's spec describes the form encoding: JSON values (blocks) travel as strings there."""
    return {"token": token, **{k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in body.items()}}


@pytest.mark.django_db
def test_the_arguments_we_send_satisfy_slacks_chat_post_message_spec(tenant_a):
    conn = sandbox_slack_connection(tenant_a)
    client = SlackClient(conn)
    sent = []
    original = client.session.request

    def capture(method, url, **kwargs):
        sent.append((kwargs.get("data"), kwargs.get("headers")))
        return original(method, url, **kwargs)

    client.session.request = capture
    from integrations.slack.sandbox import state as sandbox_state

    data = client.post_message(sandbox_state.channel_id("accounting"), messages.build(event()))
    assert data["ok"] is True
    body = json.loads(sent[0][0])
    token = sent[0][1]["Authorization"].removeprefix("Bearer ")
    schema = json.loads(SPEC.read_text())["args"]
    jsonschema.validate(as_form_args(body, token), schema)
    assert sent[0][1]["Content-Type"] == "application/json; charset=utf-8"
    assert body["text"] and body["blocks"]  # the fallback is always there


def test_an_invoice_message_names_amount_client_number_status_and_due_date():
    built = messages.build(event())
    assert built["text"] == "Invoice created: 6,000.00 USD — Northwind Traders (INV-0042)"
    parts = messages.plain_parts(built)
    assert parts["header"] == "Invoice created"  # the event in words, as the rules name it
    assert parts["summary"] == "6,000.00 USD · Northwind Traders · invoice INV-0042"
    assert dict(parts["fields"]) == {"Status": "Sent", "Due": "2026-12-21"}
    context = built["blocks"][-1]["elements"][0]["text"]
    assert "|Open in FreshBooks>" in context and "/#/invoice/77" in context


def test_each_fact_is_said_once_in_the_blocks():
    built = messages.build(event())
    shown = json.dumps(built["blocks"])
    for fact in ("6,000.00 USD", "Northwind Traders", "INV-0042", "Sent", "2026-12-21"):
        assert shown.count(fact) == 1, fact


@pytest.mark.parametrize(
    ("event_type", "title"),
    [
        ("invoice.create", "Invoice created"),
        ("invoice.update", "Invoice updated"),
        ("payment.create", "Payment received"),
        ("bill.create", "Bill posted"),
        ("bill.update", "Bill updated"),
        ("expense.create", "Expense created"),
        ("expense.update", "Expense updated"),
    ],
)
def test_the_header_is_the_event_in_the_rules_words(event_type, title):
    assert messages.plain_parts(messages.build(event(event_type)))["header"] == title


def test_a_partly_paid_invoice_says_what_is_outstanding():
    record = {"v3_status": "partial", "amount": {"amount": "6000.00"}, "outstanding": {"amount": "2000.00"}}
    fields = dict(messages.plain_parts(messages.build(event("invoice.update", payload=record)))["fields"])
    assert fields["Status"] == "Partly paid" and fields["Outstanding"] == "2,000.00 USD"


def test_user_data_is_escaped_for_mrkdwn():
    built = messages.build(event(counterparty="<!channel> A & B <https://evil.example|click>"))
    section = built["blocks"][1]
    assert "<!channel>" not in json.dumps(section)
    assert "&lt;!channel&gt; A &amp; B" in section["text"]["text"]
    # The header is plain_text, where Slack shows characters as they are: no escaping needed there.
    assert built["blocks"][0]["text"]["type"] == "plain_text"


def test_long_names_stay_within_block_kit_limits():
    built = messages.build(event(counterparty="X" * 5000))
    assert len(built["blocks"][0]["text"]["text"]) <= 150 and len(built["blocks"][1]["text"]["text"]) <= 3000
    assert all(len(f["text"]) <= 2000 for f in built["blocks"][1]["fields"])
    assert len(built["blocks"][1]["fields"]) <= 10


def test_payment_bill_and_expense_messages_carry_their_own_details_and_a_status():
    invoice = {"v3_status": "paid", "outstanding": {"amount": "0.00", "code": "USD"}}
    payment = messages.build(
        event(
            "payment.create",
            payload={"type": "Credit Card", "date": "2026-11-20", "invoiceid": 77, "invoice": invoice},
        )
    )
    parts = messages.plain_parts(payment)
    assert dict(parts["fields"]) == {"Status": "Invoice paid in full", "Date": "2026-11-20", "Method": "Credit Card"}
    assert parts["summary"] == "6,000.00 USD · Northwind Traders · invoice INV-0042"
    partly = {"v3_status": "partial", "outstanding": {"amount": "1500.00", "code": "USD"}}
    fields = dict(messages.plain_parts(messages.build(event("payment.create", payload={"invoice": partly})))["fields"])
    assert fields["Status"] == "Invoice partly paid" and fields["Outstanding"] == "1,500.00 USD"

    bill = messages.build(
        event(
            "bill.create",
            counterparty="Initech",
            invoice_number="B-7",
            payload={"status": "unpaid", "due_date": "2026-12-01"},
        )
    )
    parts = messages.plain_parts(bill)
    assert parts["summary"] == "6,000.00 USD · Initech · bill B-7"
    assert dict(parts["fields"]) == {"Status": "Unpaid", "Due": "2026-12-01"}

    expense = messages.build(
        event(
            "expense.create",
            counterparty="Airline",
            invoice_number="",
            payload={"category": {"category": "Travel"}, "date": "2026-11-02", "status": 0},
        )
    )
    parts = messages.plain_parts(expense)
    assert parts["summary"] == "6,000.00 USD · Airline"
    assert dict(parts["fields"]) == {"Status": "Not billable", "Category": "Travel", "Date": "2026-11-02"}
    billed = {"category": {"category": "Travel"}, "status": 2}
    assert dict(messages.plain_parts(messages.build(event("expense.update", payload=billed)))["fields"])["Status"] == (
        "Invoiced to the client"
    )


def test_a_record_without_an_amount_says_so_instead_of_inventing_one():
    built = messages.build(event(amount=None, currency=""))
    assert messages.plain_parts(built)["summary"].startswith("— · Northwind Traders")
